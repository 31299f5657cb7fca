"""Russian typed in Latin letters is read back as Cyrillic, for the matchers."""

from __future__ import annotations

from bots.translit import to_cyrillic


def test_common_spellings_read_as_the_russian_words() -> None:
    said = "gde moy zakaz kogda privezut posylku chto s zakazom pozhaluysta shchas"
    assert [to_cyrillic(w) for w in said.split()] == [
        "где",
        "мой",
        "заказ",
        "когда",
        "привезут",
        "посылку",
        "что",
        "с",
        "заказом",
        "пожалуйста",
        "щас",
    ]


def test_only_latin_words_are_read() -> None:
    assert to_cyrillic("заказ") is None
    assert to_cyrillic("1042") is None
    assert to_cyrillic("order1042") is None
