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


def _cost(lengths, batches, overhead):
    return sum(overhead + len(b) * max(lengths[i] for i in b) for b in batches)


def _best_cost_by_enumeration(sorted_lengths, batch_size, max_tokens, overhead):
    """The cheapest split of ascending lengths into runs, by trying every set of cut points."""
    import itertools

    n, best = len(sorted_lengths), float("inf")
    for k in range(n):
        for cuts in itertools.combinations(range(1, n), k):
            bounds = (0,) + cuts + (n,)
            runs = [sorted_lengths[a:b] for a, b in zip(bounds, bounds[1:])]
            if any(len(r) > batch_size or (len(r) > 1 and max_tokens and len(r) * r[-1] > max_tokens) for r in runs):
                continue
            best = min(best, sum(overhead + len(r) * r[-1] for r in runs))
    return best


@pytest.mark.parametrize("seed", range(6))
def test_sorted_batches_with_run_overhead_find_the_cheapest_cuts(seed):
    import random

    rng = random.Random(seed)
    lengths = [rng.choice([3, 20, 30, 55, 60, 100, 128]) for _ in range(rng.randint(1, 11))]
    batch_size, max_tokens, overhead = rng.choice([3, 4, 16]), rng.choice([None, 256]), rng.choice([10, 225])
    batches = sorted_batches(lengths, batch_size, max_tokens, run_overhead=overhead)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    flat = [lengths[i] for b in batches for i in b]
    assert flat == sorted(lengths)  # still shortest first, runs contiguous in that order
    assert all(len(b) <= batch_size for b in batches)
    assert _cost(lengths, batches, overhead) == _best_cost_by_enumeration(sorted(lengths), batch_size, max_tokens,
                                                                           overhead)


def test_run_overhead_splits_short_from_long_only_when_it_pays():
    lengths = [20] * 8 + [128] * 8
    assert [len(b) for b in sorted_batches(lengths, 32, run_overhead=225)] == [8, 8]  # saves 8 x 108 > 225
    assert [len(b) for b in sorted_batches(lengths, 32, run_overhead=2000)] == [16]  # one call is cheaper


@pytest.mark.parametrize("kwargs, field", [({"batch_size": 0}, "batch_size"),
                                           ({"batch_size": 2, "max_tokens": 0}, "max_tokens"),
                                           ({"batch_size": 2, "run_overhead": 0}, "run_overhead")])
def test_sorted_batches_bad_settings_name_the_field(kwargs, field):
    with pytest.raises(ValueError, match=field):
        sorted_batches([1, 2], **kwargs)
