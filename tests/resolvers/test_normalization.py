"""Tests for resolvers.normalization: the input rules of the API contract."""

from __future__ import annotations

import hashlib
import json
import math
import re
import time
import unicodedata
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from resolvers import normalization
from resolvers.errors import Problem, UserErrorCode, UserFailure
from resolvers.normalization import (
    PALETTE,
    RESOURCE_TYPE_RE,
    SLUG_RE,
    category_key,
    default_color,
    escape_regex,
    is_tag_id,
    name_key,
    new_tag_id,
    normalize_category,
    normalize_color,
    normalize_description,
    normalize_metadata,
    normalize_name,
    normalize_resource_ref,
    normalize_slug,
    search_key,
    slug_with_suffix,
    slugify,
    text_color,
)

HEX6 = re.compile(r"#[0-9a-f]{6}")


def expect_invalid(call: Callable[[], object], field: tuple[str, ...]) -> Problem:
    """Run `call`, require exactly one VALIDATION problem at `field`, return it."""
    with pytest.raises(UserFailure) as info:
        call()
    problems = info.value.problems
    assert len(problems) == 1
    problem = problems[0]
    assert problem.code is UserErrorCode.VALIDATION
    assert problem.field == field
    assert problem.message.strip()
    return problem


# --- name -------------------------------------------------------------------


def test_name_is_trimmed_and_inner_whitespace_collapsed() -> None:
    # NBSP and the ideographic space are whitespace (Zs), not control characters.
    raw = "  Bug \u00a0\u3000  Issue   "
    assert normalize_name(raw, path=("name",)) == "Bug Issue"


def test_name_is_nfc_normalized() -> None:
    decomposed = "Cafe\u0301"
    result = normalize_name(decomposed, path=("name",))
    assert result == "Caf\u00e9"
    assert len(result) == 4
    assert normalize_name("Caf\u00e9", path=("name",)) == result


@pytest.mark.parametrize(
    "raw",
    ["Bug\tIssue", "Bug\nIssue", "Bug\rIssue", "Bug\x00", "\x7fBug", "Bug\x85", "\x9f", "\nBug\n"],
)
def test_name_with_control_character_is_invalid(raw: str) -> None:
    # "\nBug\n" would survive as "Bug" if trimming ran before the check.
    expect_invalid(lambda: normalize_name(raw, path=("name",)), ("name",))


def test_name_with_unpaired_surrogate_is_invalid() -> None:
    expect_invalid(lambda: normalize_name("a\ud800b", path=("name",)), ("name",))


def test_name_length_boundary_100_vs_101() -> None:
    assert normalize_name("a" * 100, path=("name",)) == "a" * 100
    problem = expect_invalid(lambda: normalize_name("a" * 101, path=("name",)), ("name",))
    assert "100" in problem.message


def test_name_length_counts_code_points_after_normalization() -> None:
    # 200 code points raw, 100 after NFC: allowed.
    raw = "e\u0301" * 100
    assert len(normalize_name(raw, path=("name",))) == 100
    expect_invalid(lambda: normalize_name("e\u0301" * 101, path=("name",)), ("name",))
    # Surrounding/inner whitespace does not count once trimmed and collapsed.
    assert len(normalize_name("  " + "a" * 50 + "     " + "b" * 49 + "  ", path=("n",))) == 100


@pytest.mark.parametrize("raw", ["", " ", "\u00a0\u3000 "])
def test_empty_or_blank_name_is_invalid(raw: str) -> None:
    expect_invalid(lambda: normalize_name(raw, path=("name",)), ("name",))


def test_name_error_uses_given_path() -> None:
    path = ("tags", "3", "name")
    expect_invalid(lambda: normalize_name("", path=path), path)


def test_control_characters_are_exactly_category_cc() -> None:
    # Covers the borders of both Cc blocks (U+0000-001F, U+007F-009F) and beyond.
    for cp in range(0x2100):
        char = chr(cp)
        is_cc = unicodedata.category(char) == "Cc"
        try:
            normalize_category(f"a{char}b", path=("category",))
        except UserFailure as failure:
            # (1.1) Invisible characters are refused too, by a rule of their own.
            rejected = "control characters" in failure.problems[0].message
        else:
            rejected = False
        assert rejected == is_cc, hex(cp)


@given(st.text(max_size=120))
def test_normalized_name_properties(raw: str) -> None:
    try:
        name = normalize_name(raw, path=("name",))
    except UserFailure as exc:
        assert exc.problems[0].field == ("name",)
        assert exc.problems[0].code is UserErrorCode.VALIDATION
        return
    assert 1 <= len(name) <= 100
    assert name == name.strip()
    assert "  " not in name
    assert unicodedata.is_normalized("NFC", name)
    assert normalize_name(name, path=("name",)) == name


# --- keys -------------------------------------------------------------------


def test_name_key_is_case_insensitive() -> None:
    assert name_key("VIP") == name_key("vip") == name_key("Vip")
    assert name_key("Stra\u00dfe") == name_key("STRASSE")
    assert name_key("VIP") != name_key("VIPs")


def test_name_key_is_nfc() -> None:
    assert name_key("Cafe\u0301") == name_key("CAF\u00c9")
    assert unicodedata.is_normalized("NFC", name_key("E\u0301"))


def test_search_key_folds_case_and_accents() -> None:
    assert search_key("cafe") in search_key("Caf\u00e9 au lait")
    assert search_key("CAF\u00c9") in search_key("Caf\u00e9 au lait")
    assert search_key("\u00d1and\u00fa") == "nandu"
    assert search_key("Cafe\u0301") == search_key("Caf\u00e9") == "cafe"
    assert search_key("\ufb01nal") == "final"  # ligature fi
    assert search_key("Stra\u00dfe") == "strasse"
    assert search_key("cafe") not in search_key("caff\u00e8")


@given(st.text(max_size=50))
def test_search_key_is_idempotent(text: str) -> None:
    key = search_key(text)
    assert search_key(key) == key
    assert not any(unicodedata.combining(c) for c in key)


def test_category_key_is_case_insensitive() -> None:
    assert category_key("Topic") == category_key("TOPIC") == "topic"


# --- escape_regex -----------------------------------------------------------


def test_escape_regex_escapes_exactly_the_special_characters() -> None:
    specials = "\\^$.|?*+()[]{}-/#"
    assert escape_regex(specials) == "".join("\\" + c for c in specials)
    plain = "abc XYZ 019 _,;:'\"!@%&=~`<>\u00e9\u65e5\U0001f600"
    assert escape_regex(plain) == plain


def test_escaped_dot_does_not_match_any_character() -> None:
    assert re.search(escape_regex("a.b"), "axb") is None
    assert re.search(escape_regex("(*)"), "x(*)y") is not None
    assert re.search(escape_regex("a+"), "aaa") is None


@given(st.text(max_size=60))
def test_escape_regex_matches_text_literally(text: str) -> None:
    pattern = escape_regex(text)
    assert re.search(pattern, text) is not None
    assert re.fullmatch(pattern, text) is not None


_REGEXY = st.text(alphabet="ab.\\^$|?*+()[]{}-/# \u00e9", max_size=8)


@given(_REGEXY, _REGEXY)
def test_escape_regex_finds_exactly_the_substrings(needle: str, haystack: str) -> None:
    found = re.search(escape_regex(needle), haystack) is not None
    assert found == (needle in haystack)


# --- slug -------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["bug", "p0-critical", "a", "0", "a-b-c-1", "a" * 100])
def test_valid_explicit_slug_is_kept(raw: str) -> None:
    assert normalize_slug(raw, path=("slug",)) == raw


def test_explicit_slug_is_trimmed() -> None:
    assert normalize_slug("  bug-issue ", path=("slug",)) == "bug-issue"


@pytest.mark.parametrize(
    "raw",
    [
        "Bug",
        "-bug",
        "bug-",
        "bug--issue",
        "bug_issue",
        "bug issue",
        "caf\u00e9",
        "\uff42ug",  # full-width b: NFC does not fold it
        "bug!",
        "-",
    ],
)
def test_badly_formed_slug_is_invalid(raw: str) -> None:
    problem = expect_invalid(lambda: normalize_slug(raw, path=("slug",)), ("slug",))
    assert "lowercase" in problem.message


@pytest.mark.parametrize("raw", ["", "   ", "a" * 101])
def test_slug_length_is_1_to_100(raw: str) -> None:
    expect_invalid(lambda: normalize_slug(raw, path=("tags", "0", "slug")), ("tags", "0", "slug"))


@pytest.mark.parametrize("raw", ["bug\n", "\tbug", "b\x00ug", "bug\ud800"])
def test_slug_with_control_character_or_surrogate_is_invalid(raw: str) -> None:
    expect_invalid(lambda: normalize_slug(raw, path=("slug",)), ("slug",))


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Bug / Issue", "bug-issue"),
        ("P0 Critical!!!", "p0-critical"),
        ("Caf\u00e9", "cafe"),
        ("Stra\u00dfe", "strasse"),
        ("\u00c6sir \u00d8l", "aesir-ol"),
        ("\u0152uvre", "oeuvre"),
        ("\u0141\u00f3d\u017a", "lodz"),
        ("\u00de\u00f3r", "thor"),
        ("\u0110akovo", "dakovo"),
        ("\u0130stanbul", "istanbul"),
        ("K\u0131rm\u0131z\u0131", "kirmizi"),  # dotless i
        ("\u0126\u0127 \u0166\u0167 \u00d0\u00f0", "hh-tt-dd"),
        ("\u210cello", "hello"),  # Fraktur H decomposes to an uppercase H
        ("\uff26ull width", "full-width"),
        ("--x--", "x"),
        ("v1.2.3", "v1-2-3"),
    ],
)
def test_slugify_examples(name: str, slug: str) -> None:
    assert slugify(name) == slug


@pytest.mark.parametrize("name", ["\u65e5\u672c\u8a9e", "!!!", "\u00b7", " - "])
def test_slugify_without_ascii_alnum_is_empty(name: str) -> None:
    assert slugify(name) == ""


def test_slugify_cut_does_not_leave_trailing_hyphen() -> None:
    name = "a" * 99 + " b"
    assert slugify(name) == "a" * 99
    assert slugify("abc def", max_length=4) == "abc"
    assert slugify("abcdef", max_length=3) == "abc"


@given(st.text(max_size=150), st.integers(min_value=1, max_value=100))
def test_slugify_always_yields_valid_slug_or_empty(name: str, max_length: int) -> None:
    slug = slugify(name, max_length=max_length)
    assert len(slug) <= max_length
    assert slug == "" or SLUG_RE.fullmatch(slug) is not None


def test_slug_with_suffix_examples() -> None:
    assert slug_with_suffix("bug", 2) == "bug-2"
    assert slug_with_suffix("a" * 100, 2) == "a" * 98 + "-2"
    assert slug_with_suffix("a" * 97 + "-bc", 10) == "a" * 97 + "-10"
    # The cut lands right after a hyphen, which must not double up.
    assert slug_with_suffix("a" * 96 + "-bbb", 10) == "a" * 96 + "-10"


def test_slug_with_negative_suffix_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        slug_with_suffix("bug", -1)


@given(
    st.from_regex(SLUG_RE, fullmatch=True).filter(lambda s: len(s) <= 100),
    st.integers(min_value=0, max_value=10**15),
)
def test_slug_with_suffix_stays_a_valid_slug(base: str, n: int) -> None:
    result = slug_with_suffix(base, n)
    assert len(result) <= 100
    assert result.endswith(f"-{n}")
    assert SLUG_RE.fullmatch(result) is not None
    assert base.startswith(result[: -len(f"-{n}")])


# --- color ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "color"),
    [
        ("#AABBCC", "#aabbcc"),
        ("aabbcc", "#aabbcc"),
        ("  #A1b2C3 ", "#a1b2c3"),
        ("123456", "#123456"),
        ("#000000", "#000000"),
    ],
)
def test_valid_color_is_normalized(raw: str, color: str) -> None:
    assert normalize_color(raw, path=("color",)) == color


@pytest.mark.parametrize(
    "raw",
    [
        "#abc",
        "abc",
        "#abcdefa",
        "#abcde",
        "#ggg000",
        "##aabbcc",
        "",
        "#aa bbcc",
        "#aabbcc\n",
        "\uff10\uff11\uff12\uff13\uff14\uff15",  # full-width digits
        "red",
        "0x123456",
    ],
)
def test_invalid_color(raw: str) -> None:
    expect_invalid(
        lambda: normalize_color(raw, path=("tags", "1", "color")), ("tags", "1", "color")
    )


def test_palette_has_16_distinct_normalized_colors() -> None:
    assert len(PALETTE) == 16
    assert len(set(PALETTE)) == 16
    assert all(HEX6.fullmatch(c) for c in PALETTE)


def test_default_color_follows_the_documented_formula() -> None:
    for name in ["Bug", "VIP", "Caf\u00e9", "\u65e5\u672c"]:
        digest = hashlib.sha256(name.casefold().encode("utf-8")).digest()
        expected = PALETTE[int.from_bytes(digest[:8], "big") % 16]
        assert default_color(name) == expected


def test_default_color_is_stable_across_processes() -> None:
    # Pinned values: a salted hash() would change these from run to run.
    assert default_color("a") == "#7cb342"
    assert default_color("c") == "#8e24aa"
    assert default_color("Work") == "#039be5"


def test_default_color_ignores_case() -> None:
    assert default_color("VIP") == default_color("vip")


@given(st.text(min_size=1, max_size=30).filter(lambda s: not normalization._SURROGATE_RE.search(s)))
def test_default_color_is_deterministic_palette_member(name: str) -> None:
    color = default_color(name)
    assert color in PALETTE
    assert default_color(name) == color


@pytest.mark.parametrize(
    ("color", "text"),
    [
        ("#ffffff", "#000000"),
        ("#000000", "#ffffff"),
        ("#ffff00", "#000000"),  # yellow
        ("#000080", "#ffffff"),  # navy
        ("#767676", "#000000"),
        ("#757575", "#ffffff"),
        ("#e53935", "#000000"),
        ("#3949ab", "#ffffff"),
    ],
)
def test_text_color(color: str, text: str) -> None:
    assert text_color(color) == text


def test_text_color_switches_once_along_the_gray_ramp() -> None:
    # Contrast with black grows and with white shrinks as gray gets lighter,
    # so there must be exactly one switch point (between 0x75 and 0x76).
    results = [text_color(f"#{g:02x}{g:02x}{g:02x}") for g in range(256)]
    assert results == ["#ffffff"] * 0x76 + ["#000000"] * (256 - 0x76)


def test_text_color_tie_picks_black(monkeypatch: pytest.MonkeyPatch) -> None:
    # Luminance at which both contrast ratios are exactly equal in floating point.
    tie = 0.179128784747792
    assert (tie + 0.05) / 0.05 == 1.05 / (tie + 0.05)
    monkeypatch.setattr(normalization, "_relative_luminance", lambda _color: tie)
    assert text_color("#808080") == "#000000"
    below = math.nextafter(tie, 0.0)
    monkeypatch.setattr(normalization, "_relative_luminance", lambda _color: below)
    assert text_color("#808080") == "#ffffff"


@pytest.mark.parametrize("color", ["#FFFFFF", "ffffff", "#fff", ""])
def test_text_color_needs_a_normalized_color(color: str) -> None:
    with pytest.raises(ValueError):
        text_color(color)


# --- description and category -----------------------------------------------


def test_description_none_stays_none() -> None:
    assert normalize_description(None, path=("description",)) is None


@pytest.mark.parametrize("raw", ["", "   ", " \t\n "])
def test_blank_description_becomes_none(raw: str) -> None:
    assert normalize_description(raw, path=("description",)) is None


def test_description_keeps_tab_newline_and_inner_spacing() -> None:
    raw = "  Line one\n\tindented  twice\n"
    assert normalize_description(raw, path=("description",)) == "Line one\n\tindented  twice"


def test_description_is_nfc() -> None:
    assert normalize_description("Cafe\u0301", path=("description",)) == "Caf\u00e9"


@pytest.mark.parametrize("raw", ["a\rb", "a\r\nb", "a\x00", "\x0bx", "x\x1f", "x\x7f", "x\ud800"])
def test_description_with_other_control_characters_is_invalid(raw: str) -> None:
    expect_invalid(lambda: normalize_description(raw, path=("description",)), ("description",))


def test_description_length_boundary_500_vs_501() -> None:
    assert normalize_description("d" * 500, path=("description",)) == "d" * 500
    assert normalize_description("e\u0301" * 500, path=("description",)) == "\u00e9" * 500
    expect_invalid(
        lambda: normalize_description("d" * 501, path=("description",)), ("description",)
    )


def test_category_none_and_blank_become_none() -> None:
    assert normalize_category(None, path=("category",)) is None
    assert normalize_category("", path=("category",)) is None
    assert normalize_category(" \u3000 ", path=("category",)) is None


def test_category_is_trimmed_nfc_and_keeps_case_and_inner_spaces() -> None:
    assert normalize_category("  Topic  A ", path=("category",)) == "Topic  A"
    assert normalize_category("Caf\u0065\u0301", path=("category",)) == "Caf\u00e9"


def test_category_length_boundary_50_vs_51() -> None:
    assert normalize_category("c" * 50, path=("category",)) == "c" * 50
    expect_invalid(lambda: normalize_category("c" * 51, path=("category",)), ("category",))


@pytest.mark.parametrize("raw", ["a\tb", "a\nb", "a\x00", "a\ud800"])
def test_category_rejects_all_control_characters(raw: str) -> None:
    expect_invalid(lambda: normalize_category(raw, path=("category",)), ("category",))


# --- metadata ---------------------------------------------------------------

M = ("metadata",)


def nested_objects(depth: int) -> dict[str, object]:
    """An object `depth` levels deep: {"a": {"a": ... {"a": 1}}}."""
    doc: dict[str, object] = {"a": 1}
    for _ in range(depth - 1):
        doc = {"a": doc}
    return doc


def json_depth(value: object) -> int:
    """Independent oracle: containers count one level each, scalars none."""
    if isinstance(value, dict):
        return 1 + max((json_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((json_depth(v) for v in value), default=0)
    return 0


def test_metadata_none_is_empty_object() -> None:
    assert normalize_metadata(None, path=M) == {}


@pytest.mark.parametrize("value", [[], "x", 1, True, [{"a": 1}]])
def test_metadata_must_be_an_object(value: object) -> None:
    expect_invalid(lambda: normalize_metadata(value, path=M), M)


def test_metadata_is_returned_as_an_equal_independent_copy() -> None:
    value: dict[str, object] = {
        "s": "x",
        "i": -(2**63),
        "j": 2**63 - 1,
        "f": 1.5,
        "b": False,
        "n": None,
        "l": [1, {"k": "v"}],
        "e": {},
        "a$": "dollar not first is fine",
    }
    result = normalize_metadata(value, path=M)
    assert result == value
    assert result is not value
    inner = value["l"]
    assert isinstance(inner, list)
    inner.append(2)
    assert result["l"] == [1, {"k": "v"}]


def test_metadata_depth_5_ok_6_invalid() -> None:
    assert json_depth(nested_objects(5)) == 5
    assert normalize_metadata(nested_objects(5), path=M) == nested_objects(5)
    expect_invalid(
        lambda: normalize_metadata(nested_objects(6), path=M), (*M, "a", "a", "a", "a", "a")
    )


def test_metadata_arrays_count_as_levels() -> None:
    ok = {"a": [[[[1]]]], "b": {"c": {"d": [[]]}}}
    assert json_depth(ok) == 5
    assert normalize_metadata(ok, path=M) == ok
    too_deep = {"a": [[[[[1]]]]]}
    expect_invalid(lambda: normalize_metadata(too_deep, path=M), (*M, "a", "0", "0", "0", "0"))
    empty_list_at_6: dict[str, object] = {"a": {"b": {"c": {"d": {"e": []}}}}}
    expect_invalid(
        lambda: normalize_metadata(empty_list_at_6, path=M), (*M, "a", "b", "c", "d", "e")
    )


def test_metadata_error_path_extends_given_path() -> None:
    path = ("tags", "2", "metadata")
    expect_invalid(
        lambda: normalize_metadata({"x": [0, {"$y": 1}]}, path=path), (*path, "x", "1", "$y")
    )


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ({"$bad": 1}, (*M, "$bad")),
        ({"a": [{"$bad": 1}]}, (*M, "a", "0", "$bad")),
        ({"a.b": 1}, (*M, "a.b")),
        ({"x": {".": 1}}, (*M, "x", ".")),
        ({"": 1}, (*M, "")),
        ({"k" * 65: 1}, (*M, "k" * 65)),
        ({"a": {"\u00e9" * 65: 1}}, (*M, "a", "\u00e9" * 65)),
        ({"a\x00b": 1}, (*M, "a\x00b")),
        ({1: "x"}, M),
        ({"ok": {("t",): "x"}}, (*M, "ok")),
        ({"a": {"b\ud800": 1}}, (*M, "a")),
    ],
)
def test_metadata_bad_keys(value: dict[object, object], field: tuple[str, ...]) -> None:
    expect_invalid(lambda: normalize_metadata(value, path=M), field)


def test_metadata_key_of_64_characters_is_ok() -> None:
    value = {"k" * 64: 1, "\u00e9" * 64: 2}
    assert normalize_metadata(value, path=M) == value


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ({"f": math.nan}, (*M, "f")),
        ({"f": math.inf}, (*M, "f")),
        ({"l": [1, -math.inf]}, (*M, "l", "1")),
        ({"i": 2**63}, (*M, "i")),
        ({"i": -(2**63) - 1}, (*M, "i")),
        ({"t": (1, 2)}, (*M, "t")),
        ({"s": {1, 2}}, (*M, "s")),
        ({"b": b"bytes"}, (*M, "b")),
        ({"o": object()}, (*M, "o")),
        ({"s": "x\udfff"}, (*M, "s")),
    ],
)
def test_metadata_non_json_values_are_invalid(
    value: dict[str, object], field: tuple[str, ...]
) -> None:
    expect_invalid(lambda: normalize_metadata(value, path=M), field)


def _size(value: object) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


def test_metadata_size_boundary_16384_vs_16385_bytes() -> None:
    at_limit = {"k": "x" * 16376}
    assert _size(at_limit) == 16384
    assert normalize_metadata(at_limit, path=M) == at_limit
    over = {"k": "x" * 16377}
    assert _size(over) == 16385
    expect_invalid(lambda: normalize_metadata(over, path=M), M)


def test_metadata_size_counts_utf8_bytes_not_characters() -> None:
    at_limit = {"k": "\u00e9" * 8188}
    assert _size(at_limit) == 16384
    assert normalize_metadata(at_limit, path=M) == at_limit
    over = {"k": "\u00e9" * 8188 + "x"}
    expect_invalid(
        lambda: normalize_metadata(over, path=("tags", "0", "metadata")), ("tags", "0", "metadata")
    )


_JSON_KEYS = st.text(alphabet="abcxyz_-", min_size=1, max_size=6)
_JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20).filter(lambda s: not normalization._SURROGATE_RE.search(s))
)
_JSON_VALUES = st.recursive(
    _JSON_SCALARS,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(_JSON_KEYS, children, max_size=3)
    ),
    max_leaves=20,
)


@given(st.dictionaries(_JSON_KEYS, _JSON_VALUES, max_size=4))
def test_well_keyed_metadata_is_accepted_iff_depth_at_most_5(value: dict[str, object]) -> None:
    try:
        result = normalize_metadata(value, path=M)
    except UserFailure as exc:
        assert json_depth(value) > 5
        field = exc.problems[0].field
        assert field is not None
        assert field[:1] == M
        return
    assert json_depth(value) <= 5
    assert result == value


# --- resource references ----------------------------------------------------

R = ("resources", "4")


@pytest.mark.parametrize("rtype", ["task", "a", "File", "crm:contact", "x_y-z.1:2", "a" * 64])
def test_valid_resource_type(rtype: str) -> None:
    assert normalize_resource_ref(rtype, "id-1", path=R) == (rtype, "id-1")
    assert RESOURCE_TYPE_RE.fullmatch(rtype) is not None


@pytest.mark.parametrize(
    "rtype",
    ["", "1task", "_task", ":task", "task!", "t\u00e2che", " task", "task\n", "a b", "a" * 65],
)
def test_invalid_resource_type(rtype: str) -> None:
    expect_invalid(lambda: normalize_resource_ref(rtype, "id-1", path=R), (*R, "type"))


def test_resource_id_is_returned_verbatim() -> None:
    # Opaque host id: not trimmed, not NFC-normalized, case kept.
    rid = " Ab/c\u0065\u0301 "
    assert normalize_resource_ref("task", rid, path=R) == ("task", rid)


def test_resource_id_length_boundary() -> None:
    assert normalize_resource_ref("task", "x" * 256, path=R) == ("task", "x" * 256)
    expect_invalid(lambda: normalize_resource_ref("task", "x" * 257, path=R), (*R, "id"))
    expect_invalid(lambda: normalize_resource_ref("task", "", path=R), (*R, "id"))


@pytest.mark.parametrize("rid", ["a\x00", "a\tb", "\n", "a\x9f", "a\ud800"])
def test_resource_id_with_control_character_or_surrogate_is_invalid(rid: str) -> None:
    expect_invalid(
        lambda: normalize_resource_ref("task", rid, path=("resource",)), ("resource", "id")
    )


# --- tag ids ----------------------------------------------------------------


def test_is_tag_id() -> None:
    assert is_tag_id("tag_" + "0123456789abcdef01234567")
    for bad in [
        "",
        "tag_",
        "tag_" + "a" * 23,
        "tag_" + "a" * 25,
        "tag_" + "A" * 24,
        "tag_" + "g" * 24,
        "TAG_" + "a" * 24,
        "tag-" + "a" * 24,
        "tag_" + "a" * 24 + "\n",
        " tag_" + "a" * 24,
    ]:
        assert not is_tag_id(bad), bad


def test_new_tag_id_is_well_formed_and_carries_creation_time() -> None:
    before = time.time_ns() // 1_000_000
    tag_id = new_tag_id()
    after = time.time_ns() // 1_000_000
    assert is_tag_id(tag_id)
    assert before <= int(tag_id[4:16], 16) <= after


def test_new_tag_ids_are_unique_and_sort_by_time() -> None:
    ids = {new_tag_id() for _ in range(2000)}
    assert len(ids) == 2000
    first = new_tag_id()
    time.sleep(0.003)
    assert new_tag_id() > first
