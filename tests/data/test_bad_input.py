import numpy as np
import pandas as pd
import pytest

from tsreprog.data import prepare, read_csv_table
from tsreprog.errors import DataError
from tests.conftest import synthetic_frame


def write(tmp_path, frame, name="data.csv"):
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="file not found"):
        read_csv_table(tmp_path / "nope.csv")


def test_missing_column(tmp_path):
    path = write(tmp_path, synthetic_frame())
    with pytest.raises(DataError, match="missing column.*OT"):
        read_csv_table(path, columns=["OT"])
    with pytest.raises(DataError, match="no column 'timestamp' .*; name the time column with date_column "
                                        r"\(--date-column\), or none if the file has none"):
        read_csv_table(path, date_column="timestamp")


def test_non_numeric_value_names_column_and_line(tmp_path):
    frame = synthetic_frame().astype({"c1": object})
    frame.loc[7, "c1"] = "oops"
    with pytest.raises(DataError, match=r"column 'c1' line 9: non-numeric value 'oops'"):
        read_csv_table(write(tmp_path, frame))


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_and_inf(tmp_path, bad):
    frame = synthetic_frame()
    frame.loc[11, "c2"] = bad
    with pytest.raises(DataError, match=r"column 'c2' line 13: (missing or )?infinite"):
        read_csv_table(write(tmp_path, frame))


def test_constant_series(tmp_path):
    frame = synthetic_frame()
    frame["c0"] = 3.0
    with pytest.raises(DataError, match="column 'c0' is constant"):
        prepare(str(write(tmp_path, frame)), lookback=24, horizon=8)


def test_too_short(tmp_path):
    with pytest.raises(DataError, match=r"\(val split\): 30 rows, fewer than the 32 look-back \+ horizon needs"):
        prepare(str(write(tmp_path, synthetic_frame(60))), lookback=24, horizon=8)


def test_unsorted_and_duplicate_timestamps(tmp_path):
    frame = synthetic_frame()
    frame.loc[5, "date"] = frame.loc[4, "date"]
    with pytest.raises(DataError, match="line 7: duplicate timestamp"):
        read_csv_table(write(tmp_path, frame))
    frame = synthetic_frame()
    frame.loc[[5, 6], "date"] = frame.loc[[6, 5], "date"].to_numpy()
    with pytest.raises(DataError, match="line 8: timestamps not sorted"):
        read_csv_table(write(tmp_path, frame, "b.csv"))


def test_unknown_dataset_name():
    with pytest.raises(DataError, match="unknown dataset 'ETTh9'"):
        prepare("ETTh9", 24, 8)


def _with_one_repeated_row(source, target, at=100):
    import gzip

    text = gzip.decompress(source.read_bytes()).decode() if source.suffix == ".gz" else source.read_text()
    lines = text.splitlines(keepends=True)
    target.write_text("".join(lines[: at + 1] + [lines[at]] + lines[at + 1:]))  # line `at` twice, as in Weather
    return len(lines) - 1


def test_a_registered_file_with_an_exact_duplicate_row_is_read_as_published(tmp_path):
    import warnings as w

    from tsreprog.data import prepare
    from tsreprog.data.registry import embedded_path

    rows = _with_one_repeated_row(embedded_path("ETTh1"), tmp_path / "ETTh1.csv")
    with pytest.warns(UserWarning, match=r"1 exact duplicate row\(s\) kept as published.*line 102"):
        data = prepare("ETTh1", 96, 24, data_dir=tmp_path)
    assert len(data.table) == rows + 1  # rows count by position, the repeated one included
    with w.catch_warnings():
        w.simplefilter("error")
        assert len(prepare("ETTh1", 96, 24).table) == rows  # the embedded file has none: no warning


def test_a_user_csv_with_a_duplicate_row_errors_unless_asked_to_drop_it(tmp_path):
    from tsreprog.data import prepare
    from tsreprog.data.registry import embedded_path

    rows = _with_one_repeated_row(embedded_path("ETTh1"), tmp_path / "mine.csv")
    with pytest.raises(DataError, match="line 102: duplicate timestamp"):
        prepare(str(tmp_path / "mine.csv"), 96, 24)
    with pytest.warns(UserWarning, match=r"dropped 1 exact duplicate row\(s\): line 102"):
        assert len(prepare(str(tmp_path / "mine.csv"), 96, 24, drop_duplicate_rows=True).table) == rows


def test_scaling_names_huge_columns_and_keeps_tiny_varying_ones():
    from tsreprog.data.protocol import StandardScaler

    rng = np.random.default_rng(0)
    values = rng.standard_normal((200, 2))
    huge = values.copy()
    huge[:, 1] *= 1e300  # before: scaled to zero with only a numpy warning
    with pytest.raises(DataError, match="column 'b' has values too large to scale"):
        StandardScaler.fit(huge, ["a", "b"], "x.csv")
    tiny = values * 1e-30  # before: called constant
    scaled = StandardScaler.fit(tiny, ["a", "b"]).transform(tiny)
    assert np.allclose(scaled.std(axis=0), 1.0)
    with pytest.raises(DataError, match="column 'a' is constant"):
        StandardScaler.fit(np.column_stack([np.full(200, 3.0), values[:, 1]]), ["a", "b"])


def test_a_table_mixing_hourly_and_quarter_hourly_rows_is_refused(tmp_path):
    hourly = pd.date_range("2020-01-01", periods=300, freq="h")
    quarter = pd.date_range(hourly[-1] + pd.Timedelta("15min"), periods=100, freq="15min")
    frame = pd.DataFrame({"date": hourly.append(quarter), "v": np.arange(400.0)})
    frame.to_csv(tmp_path / "mixed.csv", index=False)
    with pytest.raises(DataError, match="line 302: rows are 0 days 01:00:00 apart but 100 are 0 days 00:15:00"):
        read_csv_table(tmp_path / "mixed.csv")
    gaps = frame.iloc[:300].drop(index=[50, 51, 120])  # an hourly table with gaps is still fine
    gaps.to_csv(tmp_path / "gaps.csv", index=False)
    assert len(read_csv_table(tmp_path / "gaps.csv")) == 297


def test_an_empty_long_frame_is_named():
    from tsreprog.data.collection import collection_from_long

    with pytest.raises(DataError, match="frame has no rows"):
        collection_from_long(pd.DataFrame({"unique_id": [], "ds": [], "y": []}))


def test_hourly_rows_then_a_majority_of_quarter_hours_are_refused(tmp_path):
    hourly = pd.date_range("2020-01-01", periods=200, freq="h")
    quarter = pd.date_range(hourly[-1] + pd.Timedelta("15min"), periods=400, freq="15min")
    index = hourly.append(quarter)
    path = write(tmp_path, pd.DataFrame({"date": index, "x": np.arange(len(index), dtype=float)}))
    with pytest.raises(DataError, match=r"line 3: rows are 0 days 00:15:00 apart but 199 are 0 days 01:00:00 apart"):
        prepare(str(path), 24, 6)
    gaps = pd.date_range("2020-01-01", periods=600, freq="h").delete([50, 51, 300])  # gaps are not a second spacing
    prepare(str(write(tmp_path, pd.DataFrame({"date": gaps, "x": np.arange(len(gaps), dtype=float)}), "g.csv")),
            24, 6)


def test_an_infinite_value_in_a_long_frame_is_an_error_not_a_gap():
    from tsreprog.data.collection import collection_from_long

    frame = pd.DataFrame({"unique_id": "a", "ds": pd.date_range("2020-01-01", periods=50, freq="h"),
                          "y": np.arange(50, dtype=float)})
    frame.loc[7, "y"] = np.inf
    with pytest.raises(DataError, match=r"column 'y' .*infinite value \(inf\)"):
        collection_from_long(frame)


def test_a_column_named_twice_is_refused(tmp_path):
    path = tmp_path / "dup.csv"
    path.write_text("date,a,b,a\n2020-01-01,1,2,3\n2020-01-02,4,5,6\n")
    with pytest.raises(DataError, match=r"column 'a' appears twice in the header \(columns 2 and 4\)"):
        read_csv_table(path)


def test_a_full_disk_is_one_line_and_keeps_the_old_file(tmp_path, monkeypatch):
    import errno
    import os

    from tsreprog.errors import TsreprogError
    from tsreprog.io import atomic_write_bytes

    target = tmp_path / "metrics.json"
    target.write_text("old")

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(TsreprogError, match="metrics.json: cannot write \\(No space left on device\\)"):
        atomic_write_bytes(target, b"new")
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["metrics.json"]
