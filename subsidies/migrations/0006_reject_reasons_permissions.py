"""Who may see and keep the new records, and a first list of common reasons for rejection.

Provincial staff keep the common reasons; bureau reviewers read them (they pick one when
rejecting). Everyone sees their own bulk jobs (the admin scopes them).
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

PERMISSIONS = {
    "provincial_staff": [
        "view_rejectreason",
        "add_rejectreason",
        "change_rejectreason",
        "view_claimbulkjob",
        "view_claimbulkjobitem",
    ],
    "bureau_reviewer": ["view_rejectreason", "view_claimbulkjob", "view_claimbulkjobitem"],
}

# A starting list, in the words bureaus already use; provincial staff edit it in the admin.
COMMON_REASONS = [
    "培训合格证书与专业技术等级证书的职业、等级或持证人不一致",
    "未在规定的申领期限内提出申请",
    "申领地不是户籍地、常住地或求职就业地（毕业年度毕业生为学校所在地）",
    "本年度已享受3次职业培训补贴",
    "同一职业同一等级已享受过补贴",
    "证明材料不全或无法核实，请补齐后重新申领",
    "收款账户信息有误，请更正后重新申领",
]


def forward(apps, schema_editor):
    app_config = apps.get_app_config("subsidies")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group_name, codenames in PERMISSIONS.items():
        group, _created = Group.objects.get_or_create(name=group_name)
        group.permissions.add(
            *Permission.objects.filter(content_type__app_label="subsidies", codename__in=codenames)
        )
    RejectReason = apps.get_model("subsidies", "RejectReason")
    for position, text in enumerate(COMMON_REASONS, start=1):
        RejectReason.objects.get_or_create(text=text, defaults={"position": position * 10})


def backward(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group_name, codenames in PERMISSIONS.items():
        for group in Group.objects.filter(name=group_name):
            group.permissions.remove(
                *Permission.objects.filter(content_type__app_label="subsidies", codename__in=codenames)
            )


class Migration(migrations.Migration):
    dependencies = [
        ("subsidies", "0005_reject_reasons_and_bulk_jobs"),
        ("accounts", "0003_role_groups"),
    ]

    operations = [migrations.RunPython(forward, backward)]
