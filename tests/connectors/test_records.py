"""The one precedence of a job's operation over the platform records it pushed
(connectors.engine.records.operations_combined)."""

import pytest

from connectors.choices import Operation
from connectors.engine.records import operations_combined

# docs/sync-engine.md, "The flow of one change": a job that pushed several records shows
# "one operation: *ceased* if any record was ceased, else *inserted* if any was made,
# else *updated* if any changed, else *no change*".
CASES = [
    ([Operation.INSERTED, Operation.CEASED, Operation.UPDATED], Operation.CEASED),
    ([Operation.UPDATED, Operation.INSERTED, Operation.NONE], Operation.INSERTED),
    ([Operation.NONE, Operation.UPDATED], Operation.UPDATED),
    ([Operation.NONE, Operation.NONE], Operation.NONE),
    ([], Operation.NONE),
]


@pytest.mark.parametrize(("operations", "shown"), CASES)
def test_a_job_of_several_records_shows_the_first_operation_in_one_precedence(operations, shown):
    assert operations_combined(operations) == shown
    assert operations_combined(reversed(operations)) == shown  # whatever the push order
