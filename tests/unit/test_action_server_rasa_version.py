"""The action server silences rasa-sdk's version warning for the Rasa line it is tested with, and only that."""
import warnings

from rasa_sdk import utils

from actions.server import TESTED_RASA_VERSION_WARNING


def _warnings_for(rasa_version: str) -> list[warnings.WarningMessage]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", message=TESTED_RASA_VERSION_WARNING)
        utils.check_version_compatibility(rasa_version)
    return caught


def test_rasa_3_6_is_not_warned_about():
    assert _warnings_for("3.6.21") == []


def test_any_other_rasa_still_is():
    assert len(_warnings_for("3.7.0")) == 1
    assert len(_warnings_for("3.16.2")) == 1
