"""Resident ID (GB 11643) and unified social credit code (GB 32100) checks."""

import pytest
from django.core.exceptions import ValidationError

from core.identity import (
    generate_credit_code,
    generate_resident_id,
    mask_resident_id,
    normalize_resident_id,
    validate_credit_code,
    validate_resident_id,
)


def _code(validator, value) -> str:
    with pytest.raises(ValidationError) as excinfo:
        validator(value)
    return excinfo.value.code


@pytest.mark.parametrize(
    "number",
    [
        "11010519491231002X",  # check character X
        "440524188001010014",  # born 1880
        "33010319850417001X",  # 下城区, a retired district code
        "330104199912310019",  # 江干区, retired
        "332101197001010019",  # the former 嘉兴地区 prefecture code
    ],
)
def test_valid_resident_ids_pass_including_x_and_retired_district_codes(number):
    validate_resident_id(number)


def test_a_retired_district_code_with_a_valid_check_digit_passes():
    validate_resident_id(generate_resident_id(area="330103", birth="19700101", sequence=11))


def test_an_unknown_area_code_is_not_a_reason_to_refuse():
    # Area codes change (districts merge); only the date and the check character are judged.
    validate_resident_id(generate_resident_id(area="339999", birth="19700101", sequence=12))


def test_generated_resident_ids_are_valid_and_can_end_in_x():
    numbers = [generate_resident_id(area="330103", birth="19850417", sequence=n) for n in range(1, 30)]
    for number in numbers:
        validate_resident_id(number)
    assert any(number.endswith("X") for number in numbers)


def test_a_lowercase_x_is_normalised_and_accepted():
    validate_resident_id("11010519491231002x")
    assert normalize_resident_id(" 11010519491231002x ") == "11010519491231002X"


@pytest.mark.parametrize(
    "number, code",
    [
        ("110105194912310021", "resident_id_checksum"),  # should end in X
        ("440524188001010015", "resident_id_checksum"),
        ("330102199002300013", "resident_id_birth_date"),  # 30 February
        ("330102199013010015", "resident_id_birth_date"),  # month 13
        ("11010519491231002", "resident_id_length"),
        ("11010519491231002XX", "resident_id_length"),
        ("", "resident_id_length"),
        ("1101051949123100AX", "resident_id_format"),
    ],
)
def test_invalid_resident_ids_are_refused_with_a_stable_code(number, code):
    assert _code(validate_resident_id, number) == code


def test_the_refusal_message_is_in_chinese():
    from django.utils import translation

    with translation.override("zh-hans"):
        with pytest.raises(ValidationError) as excinfo:
            validate_resident_id("110105194912310021")
        message = excinfo.value.messages[0]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in message), message


def test_masking_keeps_the_area_and_the_last_four():
    assert mask_resident_id("330102199001011234") == "330102********1234"


@pytest.mark.parametrize("code", ["91110000600037341L", generate_credit_code(area="330100", sequence=7)])
def test_valid_credit_codes_pass(code):
    validate_credit_code(code)


def test_generated_credit_codes_pass_for_many_sequences():
    for n in range(200):
        validate_credit_code(generate_credit_code(area="330200", sequence=n))


@pytest.mark.parametrize(
    "code, expected",
    [
        ("91110000600037341M", "credit_code_checksum"),
        ("91110000600037341", "credit_code_length"),
        ("", "credit_code_length"),
        ("9111000060003734IL", "credit_code_format"),  # I is not in the alphabet
    ],
)
def test_invalid_credit_codes_are_refused(code, expected):
    assert _code(validate_credit_code, code) == expected


@pytest.mark.django_db
def test_saving_a_trainee_through_full_clean_refuses_a_bad_id_on_the_field():
    from reference.tests.factories import CityFactory
    from trainees.models import Trainee

    trainee = Trainee(
        resident_id="110105194912310021", name="张三", category="professional", household_city=CityFactory()
    )
    with pytest.raises(ValidationError) as excinfo:
        trainee.full_clean()
    assert [e.code for e in excinfo.value.error_dict["resident_id"]] == ["resident_id_checksum"]
