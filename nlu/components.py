"""Custom Rasa NLU components (run inside the Rasa process, Python 3.10)."""
from __future__ import annotations

import json
import logging
import re
from datetime import datetime, timezone
from typing import Any, Dict, List, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import TOKENS_NAMES
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.nlu.constants import (
    ENTITIES, INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, PREDICTED_CONFIDENCE_KEY, TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from chinese_text import DEFAULT_TIMEZONE, normalise_entity, standard_chinese
from chinese_text.date_entities import with_pattern_amounts, with_pattern_dates, without_ruled_out_dates
from chinese_text.identity import corrected_id_span
from chinese_text.language import written_language
from chinese_text.names import looks_like_chinese_name
from chinese_text.unknown_words import content_words, only_unknown_words
from chinese_text.stop_requests import says_not_to_stop
from chinese_text.value_answers import is_bare_value_answer
from english_text.shorthand import Expansion, moved_offset, shorthand_matches, spelled_out

logger = logging.getLogger(__name__)


def as_words(original: str, normalised: str) -> str:
    """A borrower's words never become a command. Rasa's RegexMessageHandler, which runs after this
    component, reads a leading '/' as an intent ('/session_start', '/inform{...}'), and NFKC turns '／'
    (which the gateway puts in place of a borrower's '/') back into '/'. Only text that already
    started with '/' is a command, and only the gateway sends those ('/start_conversation').
    Same length, so entity offsets hold."""
    body = normalised.lstrip()
    if not body.startswith("/") or original.lstrip().startswith("/"):
        return normalised
    return normalised[: len(normalised) - len(body)] + "／" + body[1:]


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER], is_trainable=False)
class TextNormaliser(GraphComponent):
    """Full-width → half-width, Traditional → Simplified, Cantonese and internet-slang words → standard Mandarin ones,
    and English texting shorthand spelled out, so 還款 / ３５００ / 听日 / 木有 / tmrw reach NLU as 还款 / 3500 / 明天 /
    没有 / tomorrow."""

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "TextNormaliser":
        return cls()

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        for example in training_data.training_examples:
            self._normalise(example)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            self._normalise(message)
        return messages

    @staticmethod
    def _normalise(message: Message) -> None:
        text = message.get(TEXT)
        if not text:
            return
        standard = as_words(text, standard_chinese(text))
        # Entity offsets in training data refer to the original text: only swap when lengths agree.
        if len(standard) == len(text) or not message.get(ENTITIES):
            message.set(TEXT, standard)
            _spell_out_shorthand(message)


def _spell_out_shorthand(message: Message) -> None:
    """Expands English shorthand and moves training entity spans with it; shorthand inside an entity's span ("[tmrw]
    (date)") stays as annotated."""
    text = message.get(TEXT)
    entities = message.get(ENTITIES) or []
    expansions = [expansion for expansion in shorthand_matches(text)
                  if not any(_overlaps(entity, expansion) for entity in entities)]
    if not expansions:
        return
    message.set(TEXT, spelled_out(text, expansions))
    if entities:
        message.set(ENTITIES, [
            {**entity, "start": moved_offset(entity["start"], expansions), "end": moved_offset(entity["end"], expansions)}
            for entity in entities
        ])


def _overlaps(entity: Dict[Text, Any], expansion: Expansion) -> bool:
    return "start" in entity and entity["start"] < expansion.end and expansion.start < entity["end"]


# A unit DIET sometimes leaves outside an amount's span ("[1.5]k", "[2]k", "[300] bucks"): without it the value
# is a thousand times too small.
_AMOUNT_UNIT_AFTER = re.compile(r"\s?(?:k|K|grand|bucks?|dollars?)\b")


def _with_amount_unit(entity: Dict[Text, Any], text: Text) -> Dict[Text, Any]:
    if entity.get("entity") != "amount" or "end" not in entity:
        return entity
    unit = _AMOUNT_UNIT_AFTER.match(text, entity["end"])
    return {**entity, "end": unit.end()} if unit else entity


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False)
class EntityValueNormaliser(GraphComponent):
    """Turns entity text into values: amounts → integer cents, dates → ISO dates on the
    conversation's clock in the borrower's time zone, periods → int, ID digits → '3821'.

    The clock and time zone come from the message metadata the gateway stamps on every turn, so a
    conversation (and a test) can fix its own 'today'. Unparseable entities are dropped rather than
    passed on as text, so forms ask again instead of storing nonsense.
    """

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "EntityValueNormaliser":
        return cls()

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            entities = self._with_bare_id(message.get(ENTITIES) or [], text)
            entities = with_pattern_amounts(with_pattern_dates(entities, text), text)
            if entities:
                message.set(ENTITIES, self._normalised(entities, message), add_to_output=True)
        return messages

    @staticmethod
    def _with_bare_id(entities: List[Dict[Text, Any]], text: Text) -> List[Dict[Text, Any]]:
        """A message that is nothing but four ID characters ('3821', '三八二一', '382X'), or those and words
        correcting an earlier answer ('不对不对，5448'), is ID digits as well as whatever DIET made of it; the
        question asked decides which slot takes it. Without this, whether a bare '3821' answers the ID question
        depended on how training happened to fall."""
        span = corrected_id_span(text)
        if any(entity["entity"] == "id_last4" for entity in entities) or span is None:
            return entities
        return entities + [{
            "entity": "id_last4", "start": span[0], "end": span[1], "extractor": "EntityValueNormaliser",
        }]

    @staticmethod
    def _clock(message: Message) -> tuple:
        metadata = message.get("metadata") or {}
        moment = None
        if metadata.get("now"):
            try:
                moment = datetime.fromisoformat(metadata["now"])
            except ValueError:
                logger.warning("ignoring malformed conversation clock in message metadata")
        if moment is None or moment.tzinfo is None:
            moment = datetime.now(timezone.utc)
        return moment, metadata.get("timezone") or DEFAULT_TIMEZONE

    def _normalised(self, entities: List[Dict[Text, Any]], message: Message) -> List[Dict[Text, Any]]:
        moment, zone = self._clock(message)
        text = message.get(TEXT) or ""
        kept = []
        for entity in (_with_amount_unit(entity, text) for entity in entities):
            surface = text[entity["start"]:entity["end"]] if "start" in entity else str(entity.get("value", ""))
            value = normalise_entity(entity["entity"], surface, moment, zone)
            if value is None:
                continue
            kept.append({**entity, "value": value, "text": surface})
        return without_ruled_out_dates(kept, text)


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False)
class WrittenLanguageTagger(GraphComponent):
    """Adds a `language` entity ('zh' / 'en') when the message's script tells: the `language` slot maps from it, so
    a borrower who writes English is answered in English from that turn on, at no extra round trip. Text that
    does not tell ('4417', 'ok', '嗯') adds nothing and the conversation keeps its language."""

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "WrittenLanguageTagger":
        return cls()

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            language = None if text.startswith("/") else written_language(text)
            if language is not None:
                entity = {"entity": "language", "value": language, "start": 0, "end": len(text),
                          "extractor": "WrittenLanguageTagger"}
                message.set(ENTITIES, (message.get(ENTITIES) or []) + [entity], add_to_output=True)
        return messages


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class UnknownWordsGuard(GraphComponent):
    """Makes a message with no word from the training data (babble, keyboard mash) `nlu_fallback`, whatever DIET's
    character n-grams guessed: the dialogue then asks its question again instead of acting on the guess. A message
    with an extracted value (an amount, a date, ID digits) or that could be a bare name is left alone."""

    _FILE = "vocabulary.json"

    def __init__(self, model_storage: ModelStorage, resource: Resource, vocabulary: frozenset) -> None:
        self._model_storage = model_storage
        self._resource = resource
        self._vocabulary = vocabulary

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "UnknownWordsGuard":
        return cls(model_storage, resource, frozenset())

    @classmethod
    def load(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> "UnknownWordsGuard":
        with model_storage.read_from(resource) as directory:
            vocabulary = json.loads((directory / cls._FILE).read_text(encoding="utf-8"))
        return cls(model_storage, resource, frozenset(vocabulary))

    def train(self, training_data: TrainingData) -> Resource:
        vocabulary = set()
        for example in training_data.training_examples:
            vocabulary.update(_words(example))
        with self._model_storage.write_to(self._resource) as directory:
            (directory / self._FILE).write_text(json.dumps(sorted(vocabulary), ensure_ascii=False), encoding="utf-8")
        return self._resource

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            if self._is_babble(message):
                _decide_intent(message, DEFAULT_NLU_FALLBACK_INTENT_NAME)
        return messages

    def _is_babble(self, message: Message) -> bool:
        text = message.get(TEXT) or ""
        if text.startswith("/") or looks_like_chinese_name(text):
            return False
        if any(entity.get("entity") != "language" for entity in message.get(ENTITIES) or []):
            return False
        return only_unknown_words(_words(message), self._vocabulary)


_INFORM = "inform"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class BareValueAnswer(GraphComponent):
    """A message that is only a date, amount or instalment count and filler ('嗯，30号', '行就12期', '那就明儿个吧') is
    `inform`: it answers the question asked with that value, whatever DIET guessed for so short a text."""

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "BareValueAnswer":
        return cls()

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            intent = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
            if intent != _INFORM and is_bare_value_answer(message.get(TEXT) or "", message.get(ENTITIES) or []):
                _decide_intent(message, _INFORM)
        return messages


_STOP_CONTACT = "stop_contact"
_DENY = "deny"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class NegatedStopRequest(GraphComponent):
    """"nah it's fine, don't stop" is no request to stop contact, which takes effect at once: `deny` (the answer to
    "would you like us to stop contacting you?"), whatever DIET made of the word "stop"."""

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "NegatedStopRequest":
        return cls()

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            intent = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
            if intent == _STOP_CONTACT and says_not_to_stop(message.get(TEXT) or ""):
                _decide_intent(message, _DENY)
        return messages


def _decide_intent(message: Message, intent: Text) -> None:
    """A rule's decision overrides the classifier's: `intent` with confidence 1.0, first in the ranking (once)."""
    decided = {INTENT_NAME_KEY: intent, PREDICTED_CONFIDENCE_KEY: 1.0}
    ranking = [entry for entry in message.get(INTENT_RANKING_KEY) or [] if entry.get(INTENT_NAME_KEY) != intent]
    message.set(INTENT, decided, add_to_output=True)
    message.set(INTENT_RANKING_KEY, [decided, *ranking], add_to_output=True)


def _words(message: Message) -> List[str]:
    return content_words(token.text for token in message.get(TOKENS_NAMES[TEXT]) or [])
