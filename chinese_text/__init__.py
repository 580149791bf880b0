"""Chinese text shared by every layer: script normalisation, numerals, money, instalment counts, ID
digits and dates. Pure Python, no Rasa and no web framework, so the Rasa components, the action
server, the compliance filter and the voice pipeline read text the same way. Parsers return None
for text they cannot read; they never raise on junk input."""
from chinese_text.amounts import parse_amount_cents, parse_periods
from chinese_text.dates import DEFAULT_TIMEZONE, parse_date
from chinese_text.dialect import to_mandarin
from chinese_text.entities import normalise_entity
from chinese_text.identity import bare_id_last4, mask_id_last4, parse_id_last4
from chinese_text.reading import standard_chinese
from chinese_text.script import to_simplified

__all__ = [
    "DEFAULT_TIMEZONE", "bare_id_last4", "mask_id_last4", "normalise_entity", "parse_amount_cents", "parse_date",
    "to_mandarin", "parse_id_last4", "parse_periods", "standard_chinese", "to_simplified",
]
