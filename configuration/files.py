"""Every YAML file the project reads (policy.yml, handoff.yml, rules.yml, distress.yml,
contact_policy.yml) is read here and validated by a pydantic model, so a typo fails the same way
everywhere: one error type whose message names the file and the key."""
from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

Model = TypeVar("Model", bound=BaseModel)
TOP_LEVEL = "(top level)"


class ConfigFileError(ValueError):
    """A configuration file that cannot be used; start-up stops with this message."""

    def __init__(self, path: Path | str, key: str, message: str) -> None:
        super().__init__(f"{path}: {key}: {message}")
        self.path = Path(path)
        self.key = key


def read_yaml(path: Path | str) -> Any:
    try:
        return yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigFileError(path, TOP_LEVEL, f"cannot read the file ({error.strerror})") from None
    except yaml.YAMLError as error:
        raise ConfigFileError(path, TOP_LEVEL, f"not valid YAML ({error})") from None


def validation_problems(error: ValidationError) -> tuple[str, str]:
    """The first offending key, and its message followed by any other 'key: message'."""
    problems = [(".".join(str(part) for part in item["loc"]) or TOP_LEVEL, item["msg"]) for item in error.errors()]
    (first_key, first_message), others = problems[0], problems[1:]
    return first_key, "; ".join([first_message] + [f"{key}: {message}" for key, message in others])


def validate_model(path: Path | str, raw: Any, model: type[Model]) -> Model:
    if not isinstance(raw, dict):
        raise ConfigFileError(path, TOP_LEVEL, "expected a mapping")
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        key, problems = validation_problems(error)
        raise ConfigFileError(path, key, problems) from None


def load_yaml_model(path: Path | str, model: type[Model]) -> Model:
    """Reads `path` and validates it as `model`; raises ConfigFileError naming the file and key."""
    return validate_model(path, read_yaml(path), model)
