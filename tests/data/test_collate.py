import pytest

from roots_zh.data.collate import sorted_batches


def test_sorted_batches_cover_every_index_once_shortest_first():
    lengths = [5, 1, 9, 3, 3, 7]
    batches = sorted_batches(lengths, batch_size=2)
    assert batches == [[1, 3], [4, 0], [5, 2]]  # stable among equal lengths (3, 4)


def test_sorted_batches_token_budget_makes_short_batches_larger():
    lengths = [10] * 8 + [100] * 4
    batches = sorted_batches(lengths, batch_size=8, max_tokens=200)
    sizes = [len(b) for b in batches]
    assert sizes == [8, 2, 2]
    assert sorted(i for b in batches for i in b) == list(range(12))
    for b in batches:
        assert len(b) * max(lengths[i] for i in b) <= 200


def test_sorted_batches_row_longer_than_budget_is_its_own_batch():
    assert sorted_batches([50, 500], batch_size=4, max_tokens=100) == [[0], [1]]


@pytest.mark.parametrize("kwargs, field", [({"batch_size": 0}, "batch_size"),
                                           ({"batch_size": 2, "max_tokens": 0}, "max_tokens")])
def test_sorted_batches_bad_settings_name_the_field(kwargs, field):
    with pytest.raises(ValueError, match=field):
        sorted_batches([1, 2], **kwargs)
