"""The scan that keeps personal data out of events and logs finds what it must, and
does not cry wolf over masked forms, ids and times."""
from services.volunteer.id_numbers import id_check_character
from tests.contracts.personal_data import leaks_in, looks_like_id_number


def a_real_id_number():
    first17 = "34010219580301001"
    return first17 + id_check_character(first17)


def test_id_numbers_are_found_by_shape_and_check_digit():
    number = a_real_id_number()
    assert looks_like_id_number(number)
    assert leaks_in(f'{{"id_number": "{number}"}}', set()) == [number]
    wrong_check = number[:17] + ("0" if number[17] != "0" else "1")
    assert leaks_in(wrong_check, set()) == []


def test_names_and_phones_held_are_found_exactly_and_masked_forms_are_not():
    held = {"张三丰", "13912345678"}
    line = '{"message": "registered", "name": "张三丰", "phone": "13912345678"}'
    assert sorted(leaks_in(line, held)) == ["13912345678", "张三丰"]
    assert leaks_in('{"name": "张*丰", "phone": "139****5678"}', held) == []


def test_ids_times_and_request_ids_are_not_id_numbers():
    text = ('{"record_id": "H0123456789abcdef", "time": "2026-11-22T08:30:00.123Z", '
            '"request_id": "a13912345678b1958030100100123", "volunteer": "V34010200000001"}')
    assert leaks_in(text, set()) == []
