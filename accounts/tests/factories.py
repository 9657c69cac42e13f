import factory

from accounts.models import ROLE_GROUPS, Role, User

DEFAULT_PASSWORD = "demo-pass-2024"


class UserFactory(factory.django.DjangoModelFactory):
    """A user with a role; joins the role's group so admin permissions follow."""

    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    role = ""
    is_staff = factory.LazyAttribute(
        lambda o: o.role in {Role.PROVINCIAL, Role.BUREAU, Role.INSTITUTION, Role.EVALUATOR}
    )
    password = factory.django.Password(DEFAULT_PASSWORD)

    @factory.post_generation
    def join_role_group(obj, create, extracted, **kwargs):
        if not create or not obj.role:
            return
        from django.contrib.auth.models import Group

        obj.groups.add(Group.objects.get(name=ROLE_GROUPS[Role(obj.role)]))
