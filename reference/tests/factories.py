import factory

from reference.models import Bureau, City, Direction, Level, Occupation

CITY_NAMES = {
    "330100": "杭州市",
    "330200": "宁波市",
    "330300": "温州市",
    "330400": "嘉兴市",
    "330500": "湖州市",
    "330600": "绍兴市",
    "330700": "金华市",
    "330800": "衢州市",
    "330900": "舟山市",
    "331000": "台州市",
    "331100": "丽水市",
}


class CityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = City
        django_get_or_create = ("code",)

    code = "330100"
    name = factory.LazyAttribute(lambda o: CITY_NAMES.get(o.code, f"城市{o.code}"))


class BureauFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Bureau
        django_get_or_create = ("city",)

    city = factory.SubFactory(CityFactory)
    kind = Bureau.Kind.CITY
    name = factory.LazyAttribute(lambda o: f"{o.city.name}人力资源和社会保障局")


class ProvinceBureauFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Bureau
        django_get_or_create = ("kind",)

    kind = Bureau.Kind.PROVINCE
    city = None
    name = "浙江省人力资源和社会保障厅"


def bureau_for(code: str) -> Bureau:
    return BureauFactory(city=CityFactory(code=code))


class OccupationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Occupation
        django_get_or_create = ("name",)

    name = "人工智能工程技术人员"
    short_name = "人工智能"
    code_2021 = factory.LazyAttribute(lambda o: "2-02-10-09" if o.name == "人工智能工程技术人员" else "")
    code_2022 = factory.LazyAttribute(lambda o: "2-02-38-01" if o.name == "人工智能工程技术人员" else "")


class DirectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Direction
        django_get_or_create = ("occupation", "name")

    occupation = factory.SubFactory(OccupationFactory)
    name = "计算机视觉产品实现"


__all__ = [
    "BureauFactory",
    "CityFactory",
    "DirectionFactory",
    "Level",
    "OccupationFactory",
    "ProvinceBureauFactory",
    "bureau_for",
]
