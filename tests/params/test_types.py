import math

import pytest

from loclab.params import decode_value, encode_value, parse_type
from loclab.params.types import ParamType, coerce_value


@pytest.mark.parametrize(
    ("annotation", "expected"),
    [
        ("int", ParamType("int")),
        ("float", ParamType("float")),
        ("bool", ParamType("bool")),
        ("str", ParamType("str")),
        ("list[str]", ParamType("list", ParamType("str"))),
        ("List[int]", ParamType("list", ParamType("int"))),
        ("list", ParamType("list")),
        ("dict", ParamType("dict")),
        ("dict[str, float]", ParamType("dict")),
        ("Optional[int]", ParamType("int", optional=True)),
        ("float | None", ParamType("float", optional=True)),
        ("'str'", ParamType("str")),
    ],
)
def test_parse_type(annotation, expected):
    assert parse_type(annotation) == expected


@pytest.mark.parametrize("annotation", ["tuple", "list[list[int]]", "int | str", "np.ndarray"])
def test_parse_type_rejects(annotation):
    with pytest.raises(ValueError, match="unsupported type"):
        parse_type(annotation)


@pytest.mark.parametrize(
    ("text", "annotation", "value"),
    [
        ("3", "int", 3),
        ("-2", "int", -2),
        ("0.5", "float", 0.5),
        ("1e-3", "float", 1e-3),
        ("true", "bool", True),
        ("False", "bool", False),
        ("yes", "bool", True),
        ("0", "bool", False),
        ("hello world", "str", "hello world"),
        ("a,b,c", "list[str]", ["a", "b", "c"]),
        ("1,2", "list[int]", [1, 2]),
        ('["x", "y"]', "list[str]", ["x", "y"]),
        ("[0.1, 2]", "list[float]", [0.1, 2.0]),
        ("", "list[int]", []),
        ('{"a": 1}', "dict", {"a": 1}),
        ("None", "Optional[int]", None),
        ("4", "Optional[int]", 4),
    ],
)
def test_decode(text, annotation, value):
    assert decode_value(text, parse_type(annotation)) == value


@pytest.mark.parametrize(
    ("text", "annotation", "message"),
    [
        ("1.5", "int", "expected int, got '1.5'"),
        ("abc", "float", "expected float, got 'abc'"),
        ("maybe", "bool", "expected bool, got 'maybe' (use true or false)"),
        ("1,x", "list[int]", "item 1: expected int, got 'x'"),
        ("[1,", "list[int]", "expected list[int], got '[1,' (use a,b,c or a JSON list)"),
        ("[1, 2]", "dict", "expected dict, got '[1, 2]' (use a JSON object, e.g. {\"key\": 1})"),
        ("None", "int", "expected int, got 'None'"),
    ],
)
def test_decode_errors(text, annotation, message):
    with pytest.raises(ValueError) as err:
        decode_value(text, parse_type(annotation))
    assert str(err.value) == message


@pytest.mark.parametrize(
    ("value", "annotation"),
    [
        (3, "int"),
        (0.1, "float"),
        (1e-12, "float"),
        (True, "bool"),
        ("text with = and , inside", "str"),
        (["a", "b"], "list[str]"),
        ([1, 2], "list[int]"),
        ({"k": [1, 2]}, "dict"),
        (None, "Optional[float]"),
    ],
)
def test_encode_round_trip(value, annotation):
    text = encode_value(value)
    assert isinstance(text, str)
    assert decode_value(text, parse_type(annotation)) == value


def test_encode_special_floats():
    assert math.isinf(decode_value(encode_value(float("inf")), parse_type("float")))


@pytest.mark.parametrize(
    ("value", "annotation", "expected"),
    [(1, "float", 1.0), ("1e-3", "float", 0.001), (2.0, "int", 2), ((1, 2), "list[int]", [1, 2])],
)
def test_coerce_accepts(value, annotation, expected):
    out = coerce_value(value, parse_type(annotation))
    assert out == expected
    assert type(out) is type(expected)


@pytest.mark.parametrize(
    ("value", "annotation", "message"),
    [
        (True, "int", "expected int, got bool True"),
        (1.5, "int", "expected int, got float 1.5"),
        ("0.1x", "float", "expected float, got str '0.1x'"),
        (1, "bool", "expected bool, got int 1"),
        (3, "str", "expected str, got int 3"),
        (["a", 1], "list[str]", "item 1: expected str, got int 1"),
        (None, "float", "expected float, got null"),
        ([1], "dict", "expected dict, got list [1]"),
    ],
)
def test_coerce_rejects(value, annotation, message):
    with pytest.raises(ValueError) as err:
        coerce_value(value, parse_type(annotation))
    assert str(err.value) == message


def test_literal_parameters_name_their_choices():
    ptype = parse_type('Literal["tiny", "small", "full"]')
    assert ptype.base == "str" and ptype.choices == ("tiny", "small", "full")
    assert str(ptype) == "Literal['tiny', 'small', 'full']"
    assert decode_value("small", ptype) == "small"
    with pytest.raises(ValueError, match=r"'smal' is not one of .*; did you mean 'small'\?"):
        decode_value("smal", ptype)
    with pytest.raises(ValueError, match="is not one of"):
        coerce_value("huge", ptype)
    assert parse_type("Literal[1, 2, 4]").choices == (1, 2, 4)
    for bad in ("Literal[1, 'a']", "Literal[x]", "Literal['a', 'a']"):
        with pytest.raises(ValueError, match="unsupported type"):
            parse_type(bad)
