"""What a customer's message asks, in Russian or English: an order's status, or a person.

The status matcher reads features, never whole phrases:
- OBJECT: what is asked about (заказ, посылка, order, parcel, ...);
- QUESTION: where / when / how long / any news;
- MOVEMENT: the order travelling (привезут, придет, shipped, arrive, ...);
- STRONG: words that ask for the status by themselves (статус, трек, status, tracking);
- TOPIC: another subject about an order (refund, cancel, invoice, price, damage, stock);
  such a message gets no status answer;
- THANKS: thanks for a delivery is not a question, unless it also asks one;
- ARRIVED: "it came" said plainly (not negated, not asked) reports a delivery, it asks
  nothing ("заказ пришел, но коробка мятая", "my order arrived today").
Russian typed in Latin letters ("gde moy zakaz") is read in both alphabets (bots/translit).
A status question is a message without another TOPIC that names an order number, or asks
about an order (OBJECT with QUESTION/MOVEMENT/number), or asks where it travels
(MOVEMENT with QUESTION/number/"my"), or uses a STRONG word.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bots.translit import to_cyrillic
from bots.words import Lexicon, classify, words

OBJECT_WORDS = (
    "заказ|а|у|ом|е|ы|ов|ам|ами|ах|ик|ика|ику|ики|иков заказал* заказыв*",
    "посылк* посылочк* отправлени|е|я|ю|ем|я|й доставк|а|и|у|ой|е|ою покупк*",
    "товар|а|ы|ов|ом|у шмотк* коробк*",
    "parcel|s package|s packet|s shipment|s delivery deliveries purchase|s|d",
    "ordered items stuff goods box",
)
QUESTION = Lexicon(
    [
        "где когда скоро сколько долго жду ждем ждать ожидать ожида* новост* сегодня завтра",
        "состояни* куда",
        "where wheres whereabouts when eta yet still update|s|d news long happen|s|ed|ing",
        "soon waiting wait progress today tomorrow",
    ]
)
MOVEMENT = Lexicon(
    [
        "привез* привоз* доставят доставит доставите доставлен* доставлял* придет придут",
        "прийдет приедет приедут пришел пришла пришло пришли отправ* отгруж* высла* едет",
        "везут везете получу получим получить получил* вручат",
        "ship|s|ped|ping dispatch* arriv* deliver|ed|ing come|s coming came sent send",
        "received receive get recieved pickup забрать забирать выдач*",
    ]
)
STRONG = Lexicon(["статус* трек* трэк* отслед* отслеж* status track* трекинг*"])
TOPIC = Lexicon(
    [
        "верн* возврат* отмен* счет|а|у|ом|е счета счет-фактур* чек|а|и|у квитанци* скидк*",
        "промокод* купон* цен|а|у|ы|е стоимост* стоит оплат* налич* обмен* поменя* измени*",
        "брак* поврежд* сломан* разбит* жалоб* продает* продаете продаете купить",
        "refund* return* cancel* invoice* receipt* discount* coupon* promo* price* cost*",
        "pay paid payment* stock exchange* change damaged broken wrong complain* sell* buy",
        "much vat",
    ]
)
THANKS = Lexicon(["спасиб* благодар* thank* thx thanks"])
ARRIVED = Lexicon(
    ["пришел пришла пришло пришли получил* доставили привезли arrived received recieved"]
)
# Words that make "arrived" not happen yet: "не пришла", "hasn't arrived", "not yet".
NEGATIONS = frozenset("не нет ни еще ещё not no never hasn haven didn doesn isn wasn yet".split())
# Time words ask nothing by themselves: "it arrived today" is no question.
_TIME_WORDS = frozenset("today tomorrow сегодня завтра".split())
ORDER = Lexicon(["order|s"])
POSSESSIVE = frozenset("мой моя мое мои моего моей моим моих моем моему my mine our".split())
# "order" is a noun unless one of these comes first ("can I order", "to order").
_VERB_BEFORE = frozenset(
    "i we you to can could will would do did should cannot cant ll please how".split()
)
_NUMBER = re.compile(r"(?:[#№]|\bno\.?|\bn)?\s*\b([a-zA-Z]{0,3}-?\d{3,12})\b")
LEXICONS = {
    "object": Lexicon([*OBJECT_WORDS, "order|s"]),
    "question": QUESTION,
    "movement": MOVEMENT,
    "strong": STRONG,
    "topic": TOPIC,
    "thanks": THANKS,
}
_NUMBER_WORDS = frozenset("номер заказ заказа order no n number".split())


@dataclass(frozen=True, slots=True)
class StatusQuestion:
    """A status question, with the order numbers it names (maybe none) and why it matched."""

    numbers: tuple[str, ...]
    matched: str


def order_numbers(text: str) -> tuple[str, ...]:
    """Candidate order numbers in `text`: 3 to 12 digits, maybe with a short letter prefix."""
    found: list[str] = []
    for match in _NUMBER.finditer(text):
        token = match.group(1)
        digits = re.sub(r"\D", "", token)
        for candidate in (token, token.upper(), digits):
            if candidate not in found:
                found.append(candidate)
    return tuple(found)


# Word pairs that carry a kind together, not apart ("в пути", "on its way").
PHRASES = {
    "movement": re.compile(
        r"\b(в пути|on (its|the|my) way|out for delivery|pick ?up|к выдаче|пункте? выдачи)\b"
    ),
    "question": re.compile(
        r"\b(как там|как дела|что с|что там|what happened|what'?s up|whats up|going on)\b"
    ),
}


def _nouns_only(tokens: list[str]) -> list[str]:
    """'order' after "I", "to", "can", ... is the verb: it does not name an order."""
    return [
        "~" if ORDER.match(w) and i > 0 and tokens[i - 1] in _VERB_BEFORE else w
        for i, w in enumerate(tokens)
    ]


def _spellings(tokens: list[str]) -> list[str]:
    """Each word, and the Cyrillic reading of a Latin one; a reading that some kind knows
    as written stands alone, so "privezut" is never taken for a typo of "price"."""
    out: list[str] = []
    for word in tokens:
        reading = to_cyrillic(word)
        if reading is None:
            out.append(word)
        elif any(lex.match(reading, fuzzy=False) for lex in LEXICONS.values()):
            out.append(reading)
        else:
            out += [word, reading]
    return out


def _asks(spelled: list[str], cyrillic: str) -> bool:
    """A question word other than a time word, or a question phrase."""
    return any(w not in _TIME_WORDS and QUESTION.match(w) for w in spelled) or bool(
        PHRASES["question"].search(cyrillic)
    )


def _reports_arrival(readings: list[tuple[str, ...]], text: str, asked: bool) -> bool:
    """An arrival said plainly: not asked ("?", a question word) and not negated just
    before ("не пришла", "hasn't arrived"). `readings` holds each word's spellings."""
    if asked or "?" in text:
        return False
    for i, spellings in enumerate(readings):
        if any(ARRIVED.match(w, fuzzy=False) for w in spellings):
            before = {w for r in readings[max(0, i - 3) : i] for w in r}
            if not before & NEGATIONS:
                return True
    return False


def status_question(text: str) -> StatusQuestion | None:
    tokens = words(text)
    if not tokens:
        return None
    numbers = order_numbers(text)
    readings: list[tuple[str, ...]] = [(w, c) if (c := to_cyrillic(w)) else (w,) for w in tokens]
    cyrillic = [r[-1] for r in readings]
    kinds = classify(_spellings(_nouns_only(tokens)), LEXICONS)
    for kind, phrase in PHRASES.items():
        found = phrase.search(" ".join(tokens)) or phrase.search(" ".join(cyrillic))
        if found:
            kinds.setdefault(kind, found.group(0))
    if "topic" in kinds:
        return None
    question, movement, obj = kinds.get("question"), kinds.get("movement"), kinds.get("object")
    if "thanks" in kinds and not question:
        return None
    if _reports_arrival(readings, text, _asks(tokens + cyrillic, " ".join(cyrillic))):
        return None
    rest = [w for w in tokens if not any(w in n.lower() for n in numbers)]
    if numbers and all(w in _NUMBER_WORDS for w in rest):
        return StatusQuestion(numbers, "order number")
    if "strong" in kinds:
        return StatusQuestion(numbers, kinds["strong"])
    mine = any(w in POSSESSIVE for w in tokens + cyrillic)
    matched = " + ".join(c for c in (obj, question, movement) if c)
    if obj and (question or movement or numbers):
        return StatusQuestion(numbers, matched)
    if movement and (question or numbers or mine):
        return StatusQuestion(numbers, matched)
    if numbers and question:
        return StatusQuestion(numbers, f"{question} + number")
    if obj and mine and len(tokens) <= 3:
        return StatusQuestion(numbers, obj)
    return None


HANDOFF = Lexicon(
    [
        "оператор* человек|а|у|ом|е люд|ям|ьми|ей живо|й|го|му|м менеджер* сотрудник*",
        "консультант* специалист*",
        "operator|s agent|s human|s person people manager|s representative|s rep",
        "someone somebody staff",
    ]
)


def wants_a_person(text: str) -> str | None:
    """The word asking for a human, if any ('оператор', 'human', 'агент' typo'd or not)."""
    return HANDOFF.hit(words(text))
