"""English text as US borrowers type or speak it: money, instalment counts, ID digits and dates. Pure Python
(text2num spells number words as digits), no Rasa and no web framework, so every layer reads English the same
way. Parsers return None for text they cannot read; they never raise on junk input."""
from english_text.amounts import amount_spans, parse_amount_cents
from english_text.dates import date_spans, parse_date
from english_text.identity import mask_id_last4, parse_id_last4
from english_text.periods import parse_periods

__all__ = ["amount_spans", "date_spans", "mask_id_last4", "parse_amount_cents", "parse_date", "parse_id_last4",
           "parse_periods"]
