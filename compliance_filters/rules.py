"""Load and validate ``rules.yml`` — one job: turn the compliance officer's file into typed rules,
or fail at load with an error naming the file, the category and the rule id."""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from configuration.files import ConfigFileError, read_yaml

from compliance_filters.patterns import require_valid_regexes

DEFAULT_RULES_PATH = Path(__file__).with_name("rules.yml")

Language = Literal["zh", "en"]


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    description: str
    languages: tuple[Language, ...] = ("zh",)
    terms: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    pinyin: tuple[str, ...] = ()  # space-separated toneless syllables: "sha bi"
    negatable: bool = True  # a negator scoped before the match excuses it
    reportable: bool = True  # quoted in an anti-fraud warning or echoed from the borrower excuses it
    # The bot may restate an act the borrower reported ('您说有人半夜给您打电话'). False for words
    # that are harmful in themselves (insults): only a verbatim echo of the borrower excuses those.
    restatable: bool = True

    @field_validator("terms", "pinyin")
    @classmethod
    def _no_blank_terms(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        if any(not v.strip() for v in values):
            raise ValueError("contains an empty term")
        return values

    @field_validator("patterns")
    @classmethod
    def _patterns_compile(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        require_valid_regexes(values)
        return values

    @model_validator(mode="after")
    def _has_something_to_match(self) -> "Rule":
        if not (self.terms or self.patterns or self.pinyin):
            raise ValueError("needs a non-empty terms, patterns or pinyin list")
        return self


class Category(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    prefix: str = Field(pattern=r"^[A-Z]{3}$")
    description: str
    replacement: str = Field(min_length=1)
    # "identity_not_verified": the category applies only while context["identity_verified"] is not True.
    applies_when: Literal["always", "identity_not_verified"] = "always"
    rules: tuple[Rule, ...] = Field(min_length=1)


class ClassifierSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    # None: the thresholds calibrated in training (compliance_filters.train: the harm regression's, or
    # each category's for a model without one); a number overrides them with one threshold.
    threshold: float | None = Field(None, gt=0.0, le=1.0)
    # Categories whose rule hits the classifier may lift: their words also run through lawful talk about
    # the same topic (the law on 坐牢, advice against 网贷, the rule against 曝光), and a hit is lifted when
    # the harm probability is below the lift threshold calibrated in training. Insults and violence are
    # harmful in the words themselves and are never listed.
    may_lift: tuple[str, ...] = ()
    # Categories whose regression, at its own calibrated threshold, blocks when the harm probability reaches
    # the lower confirmation threshold (compliance_filters/classifier.py says why). Not insult: its regression
    # learns mostly from COLD's comments, so a threshold calibrated on collection lines does not bound what
    # it blocks elsewhere (on COLD's test split it blocked 12 % more of the inoffensive comments).
    may_confirm: tuple[str, ...] = ()


KNOWN_CATEGORIES = (
    "violence", "third_party_disclosure", "impersonation", "false_legal_consequences", "insult",
    "harassment", "public_shaming", "inducing_borrowing", "privacy_intimidation",
    "disclosure_before_verification",
)


class RuleSet(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int = 1
    classifier: ClassifierSettings = ClassifierSettings()
    categories: dict[str, Category]

    @model_validator(mode="after")
    def _listed_categories_exist(self) -> "RuleSet":
        for key in ("may_lift", "may_confirm"):
            unknown = set(getattr(self.classifier, key)) - set(self.categories)
            if unknown:
                raise ValueError(f"classifier.{key} names unknown categories: {', '.join(sorted(unknown))}")
        return self

    def rule_category(self) -> dict[str, str]:
        return {rule.id: name for name, cat in self.categories.items() for rule in cat.rules}


def _fail(path: Path, where: str, message: str) -> ConfigFileError:
    return ConfigFileError(path, where, message)


def _validate(path: Path, data: object) -> RuleSet:
    if not isinstance(data, dict):
        raise _fail(path, "top level", "expected a mapping with 'categories'")
    raw_categories = data.get("categories")
    if not isinstance(raw_categories, dict) or not raw_categories:
        raise _fail(path, "categories", "expected a non-empty mapping of category name → definition")
    seen: dict[str, str] = {}
    for name, raw in raw_categories.items():
        if name not in KNOWN_CATEGORIES:
            raise _fail(path, f"category {name!r}", f"unknown category; known: {', '.join(KNOWN_CATEGORIES)}")
        raw_rules = raw.get("rules") if isinstance(raw, dict) else None
        for index, raw_rule in enumerate(raw_rules or []):
            rule_id = raw_rule.get("id") if isinstance(raw_rule, dict) else None
            where = f"category {name!r}, rule {rule_id or f'#{index + 1}'!r}"
            try:
                rule = Rule.model_validate(raw_rule)
            except ValidationError as exc:
                raise _fail(path, where, _explain(exc)) from None
            prefix = raw.get("prefix")
            if not re.fullmatch(rf"{re.escape(str(prefix))}-\d{{3}}(-[a-z0-9-]+)?", rule.id):
                raise _fail(path, where, f"rule id must look like {prefix}-001")
            if rule.id in seen:
                raise _fail(path, where, f"duplicate rule id (also in category {seen[rule.id]!r})")
            seen[rule.id] = name
        try:
            Category.model_validate(raw)
        except ValidationError as exc:
            raise _fail(path, f"category {name!r}", _explain(exc)) from None
    try:
        return RuleSet.model_validate(data)
    except ValidationError as exc:
        raise _fail(path, "top level", _explain(exc)) from None


def _explain(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or 'value'}: {err['msg']}" for err in exc.errors()
    )


def load_rules(path: str | Path = DEFAULT_RULES_PATH) -> RuleSet:
    """Read and validate a rules file. Raises ConfigFileError naming file, category and rule."""
    path = Path(path)
    return _validate(path, read_yaml(path))


@lru_cache(maxsize=4)
def default_rules(path: str = str(DEFAULT_RULES_PATH)) -> RuleSet:
    return load_rules(path)
