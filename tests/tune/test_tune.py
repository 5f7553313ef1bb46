import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from tsreprog.cli.main import main

SPACE = Path(__file__).with_name("tiny_space.yaml")
ROOT = Path(__file__).resolve().parents[2]


def tune_args(csv, storage, out, n_trials=6, extra=()):
    return ["tune", "--dataset", str(csv), "--storage", storage, "--backbone", "random:bert", "--lookback", "48",
            "--horizon", "12", "--epochs", "3", "--train-stride", "4", "--val-stride", "4", "--n-trials",
            str(n_trials), "--space", str(SPACE), "--output-dir", str(out), "--heartbeat", "1", "--quiet", *extra]


def states(storage, name="tsreprog"):
    study = optuna.load_study(study_name=name, storage=storage)
    return [t.state for t in study.get_trials(deepcopy=False)]


def running_with_heartbeat(db: Path) -> bool:
    """Whether a RUNNING trial has a heartbeat row (Optuna's RDB schema: tables trials, trial_heartbeats)."""
    with sqlite3.connect(db) as connection:
        return connection.execute("SELECT COUNT(*) FROM trials JOIN trial_heartbeats USING (trial_id) "
                                  "WHERE trials.state = 'RUNNING'").fetchone()[0] > 0


def finished(storage):
    return sum(s in (TrialState.COMPLETE, TrialState.PRUNED) for s in states(storage))


def spawn(args):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "tsreprog", *args], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)


def test_study_prunes_and_best_config_trains(synthetic_csv, tmp_path):
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    assert main(tune_args(synthetic_csv, storage, tmp_path / "out")) == 0
    counts = states(storage)
    assert finished(storage) == 6
    assert counts.count(TrialState.PRUNED) >= 1
    for name in ("best.yaml", "summary.txt", "history.png", "importance.png"):
        assert (tmp_path / "out" / name).is_file()
    assert main(["train", "--config", str(tmp_path / "out" / "best.yaml"), "--output-dir", str(tmp_path / "t"),
                 "--quiet"]) == 0
    # The same study again without --resume is refused; with --resume and the budget met, nothing more runs.
    assert main(tune_args(synthetic_csv, storage, tmp_path / "out2")) == 2
    assert main(tune_args(synthetic_csv, storage, tmp_path / "out2", extra=["--resume"])) == 0
    assert len(states(storage)) == len(counts)


def test_kill_9_then_resume(synthetic_csv, tmp_path):
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    worker = spawn(tune_args(synthetic_csv, storage, tmp_path / "out", n_trials=5))
    deadline = time.time() + 240
    # Trials on the tiny model last ~1 s (pruned ones less): poll often, and catch the first running trial after
    # one has finished, before the worker can run out of trials.
    while time.time() < deadline and worker.poll() is None:
        time.sleep(0.1)
        try:
            current = states(storage)
        except Exception:  # study not created yet
            continue
        # ...and once that trial has written its first heartbeat, so that the retry below is Optuna's stale-trial
        # path (a trial killed before its first beat is failed another way, tested below)
        if (sum(s in (TrialState.COMPLETE, TrialState.PRUNED) for s in current) >= 1
                and TrialState.RUNNING in current and running_with_heartbeat(tmp_path / "study.db")):
            break
    else:
        pytest.fail(f"worker never caught in a running trial (exit {worker.poll()}): "
                    f"{worker.stderr.read().decode()[-2000:] if worker.poll() is not None else ''}")
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    before = states(storage)
    assert before.count(TrialState.RUNNING) == 1
    done_before = finished(storage)
    time.sleep(3)  # heartbeat 1 s: the orphaned trial is stale after 2 s
    assert main(tune_args(synthetic_csv, storage, tmp_path / "out", n_trials=5, extra=["--resume"])) == 0
    after = optuna.load_study(study_name="tsreprog", storage=storage).get_trials()
    assert finished(storage) == 5 >= done_before  # budget met exactly: nothing lost, nothing counted twice
    assert sum(t.state == TrialState.RUNNING for t in after) == 0
    failed = [t for t in after if t.state == TrialState.FAIL]
    assert len(failed) == 1  # the killed trial is marked failed, not counted
    retried = [t for t in after if t.system_attrs.get("failed_trial") == failed[0].number]
    assert len(retried) == 1
    # The retry replays every value the killed trial had already drawn (it may have been killed before drawing
    # them all; the rest are sampled afresh).
    assert failed[0].params.items() <= retried[0].params.items()


@pytest.mark.filterwarnings("ignore:Heartbeat of storage")  # study.ask() stands in for the killed worker
def test_trial_orphaned_before_its_first_heartbeat_is_failed_on_resume(synthetic_csv, tmp_path):
    """A worker killed between creating a trial and its first heartbeat leaves the trial RUNNING with no heartbeat,
    which Optuna never fails as stale: the resumed study must fail it and still finish its budget."""
    from tsreprog.tune.study import StudySettings, fail_orphaned_trials, open_study

    storage = f"sqlite:///{tmp_path / 'study.db'}"
    study = open_study(StudySettings(storage=storage, heartbeat=1), resume=False)
    orphan = study.ask()  # RUNNING, no heartbeat, no objective: what the kill leaves behind
    assert fail_orphaned_trials(study, grace_seconds=60) == []  # too young to call dead
    assert not running_with_heartbeat(tmp_path / "study.db")
    time.sleep(2.5)  # past the grace period of 2 heartbeats
    assert main(tune_args(synthetic_csv, storage, tmp_path / "out", n_trials=3, extra=["--resume"])) == 0
    trials = optuna.load_study(study_name="tsreprog", storage=storage).get_trials()
    assert finished(storage) == 3
    assert TrialState.RUNNING not in [t.state for t in trials]
    assert trials[orphan.number].state == TrialState.FAIL and "orphaned" in trials[orphan.number].user_attrs


def _two_workers(csv, storage, tmp_path, n_trials=6):
    optuna.create_study(storage=storage, study_name="tsreprog", direction="minimize")
    workers = [spawn(tune_args(csv, storage, tmp_path / f"w{i}", n_trials, extra=["--resume"])) for i in range(2)]
    for worker in workers:
        _, err = worker.communicate(timeout=400)
        assert worker.returncode == 0, err.decode()[-2000:]
    assert finished(storage) == n_trials  # exactly the budget: a worker that would exceed it stands down
    assert TrialState.RUNNING not in states(storage)
    trials = optuna.load_study(study_name="tsreprog", storage=storage).get_trials(deepcopy=False)
    evaluated = [t.params for t in trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    assert len({tuple(sorted(p.items())) for p in evaluated}) == len(evaluated)  # no worker repeats another
    # every other trial is accounted for: stood down at the budget or drew a duplicate, never evaluated
    others = [t for t in trials if t.state not in (TrialState.COMPLETE, TrialState.PRUNED)]
    assert all(t.state == TrialState.FAIL and ("surplus" in t.user_attrs or "duplicate_of" in t.user_attrs)
               for t in others)
    assert len({t.user_attrs.get("worker") for t in trials} - {None}) == 2  # both processes took trials


def test_two_workers_share_one_sqlite_study(synthetic_csv, tmp_path):
    _two_workers(synthetic_csv, f"sqlite:///{tmp_path / 'study.db'}", tmp_path)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def postgres_url():
    """A real PostgreSQL server on loopback, started for this test and stopped after it (.ci/run installs Debian's
    package; elsewhere the test is skipped when the server binaries are missing)."""
    initdb = shutil.which("initdb") or next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))), None)
    if initdb is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not installed: .ci/run installs Debian's postgresql package")
        pytest.skip("PostgreSQL server binaries not installed")
    pytest.importorskip("psycopg2")
    bin_dir = Path(os.path.realpath(initdb)).parent
    if not (bin_dir / "pg_ctl").exists():  # Debian's /usr/bin wrappers: the real binaries live beside each other
        bin_dir = next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"))))
    root = Path(tempfile.mkdtemp(prefix="tsreprog-pg-"))
    data, sockets = root / "data", root / "sockets"
    sockets.mkdir()
    run_as = []
    if os.geteuid() == 0:  # the server refuses to run as root
        for path in (root, sockets):
            shutil.chown(path, "postgres")
        run_as = ["runuser", "-u", "postgres", "--"]
    subprocess.run([*run_as, str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust"],
                   check=True, capture_output=True)
    port = _free_port()
    subprocess.run([*run_as, str(bin_dir / "pg_ctl"), "-D", str(data), "-w", "-l", str(root / "log"), "-o",
                    f"-p {port} -k {sockets} -h 127.0.0.1", "start"], check=True, capture_output=True)
    try:
        subprocess.run([*run_as, str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres",
                        "optuna"], check=True, capture_output=True)
        yield f"postgresql+psycopg2://postgres@127.0.0.1:{port}/optuna"
    finally:
        subprocess.run([*run_as, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def test_two_workers_share_one_postgres_study(synthetic_csv, tmp_path, postgres_url):
    _two_workers(synthetic_csv, postgres_url, tmp_path)


def distinct_parameter_sets(storage):
    trials = optuna.load_study(study_name="tsreprog", storage=storage).get_trials(deepcopy=False)
    return len({tuple(sorted(t.params.items())) for t in trials}), len(trials)


def test_resumed_study_draws_new_configurations(synthetic_csv, tmp_path):
    """Before: after --n-trials 2 then --n-trials 4 --resume, trials 2 and 3 repeated trials 0 and 1 exactly."""
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    fast = ["--epochs", "1", "--pruner", "none"]
    assert main(tune_args(synthetic_csv, storage, tmp_path / "a", n_trials=2, extra=fast)) == 0
    assert main(tune_args(synthetic_csv, storage, tmp_path / "b", n_trials=4, extra=[*fast, "--resume"])) == 0
    assert distinct_parameter_sets(storage) == (4, 4)


def test_a_drawn_duplicate_is_not_evaluated():
    from tsreprog.tune.objective import same_configuration

    study = optuna.create_study()
    first = study.ask()
    first.suggest_categorical("x", [1, 2])
    study.tell(first, 0.5)
    study.enqueue_trial(first.params)  # what a restarted sampler sequence amounts to
    again = study.ask()
    again.suggest_categorical("x", [1, 2])
    assert same_configuration(again) == first.number
    other = study.ask()
    other.suggest_categorical("y", [1])
    assert same_configuration(other) is None


def test_resume_refuses_other_base_settings_and_keeps_other_reports(synthetic_csv, tmp_path, capsys):
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    fast = ["--epochs", "1", "--pruner", "none"]
    assert main(tune_args(synthetic_csv, storage, tmp_path / "a", n_trials=1, extra=fast)) == 0
    capsys.readouterr()
    # another horizon would rank MSEs that cannot be compared: refused, nothing run
    other = tune_args(synthetic_csv, storage, tmp_path / "a", n_trials=2, extra=[*fast, "--resume"])
    other[other.index("--horizon") + 1] = "6"
    assert main(other) == 2
    assert "--resume with model.horizon=6, but study 'tsreprog' was started with 12" in capsys.readouterr().err
    assert len(states(storage)) == 1
    # a folder holding another study's reports (or the user's own summary.txt) is not overwritten by --resume
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "summary.txt").write_text("my notes\n")
    assert main(tune_args(synthetic_csv, storage, tmp_path / "b", n_trials=2, extra=[*fast, "--resume"])) == 2
    assert (tmp_path / "b" / "summary.txt").read_text() == "my notes\n"
    # its own folder it updates
    assert main(tune_args(synthetic_csv, storage, tmp_path / "a", n_trials=2, extra=[*fast, "--resume"])) == 0
    assert finished(storage) == 2


def test_a_ctrl_c_trial_is_run_again_on_resume(synthetic_csv, tmp_path, monkeypatch):
    from tsreprog.train.resume import EpochShuffle

    storage = f"sqlite:///{tmp_path / 'study.db'}"
    fast = ["--epochs", "1", "--pruner", "none"]
    assert main(tune_args(synthetic_csv, storage, tmp_path / "a", n_trials=1, extra=fast)) == 0
    original = EpochShuffle.__iter__

    def interrupted(self):  # Ctrl-C inside the next trial's training
        raise KeyboardInterrupt

    monkeypatch.setattr(EpochShuffle, "__iter__", interrupted)
    assert main(tune_args(synthetic_csv, storage, tmp_path / "a", n_trials=2, extra=[*fast, "--resume"])) == 130
    monkeypatch.setattr(EpochShuffle, "__iter__", original)
    trials = optuna.load_study(study_name="tsreprog", storage=storage).get_trials()
    stopped = [t for t in trials if t.state == TrialState.FAIL and t.user_attrs.get("interrupted")]
    assert len(stopped) == 1
    assert main(tune_args(synthetic_csv, storage, tmp_path / "a", n_trials=2, extra=[*fast, "--resume"])) == 0
    trials = optuna.load_study(study_name="tsreprog", storage=storage).get_trials()
    retry = [t for t in trials if t.user_attrs.get("retry_of") == stopped[0].number]
    assert len(retry) == 1 and retry[0].params == stopped[0].params and retry[0].state == TrialState.COMPLETE
    assert finished(storage) == 2


def test_a_failed_tune_or_select_leaves_no_empty_folder_or_database(tmp_path):
    missing = tmp_path / "nope.csv"
    storage = f"sqlite:///{tmp_path / 'new.db'}"
    assert main(tune_args(missing, storage, tmp_path / "out")) == 2
    assert not (tmp_path / "out").exists() and not (tmp_path / "new.db").exists()
    assert main(["select", "--dataset", str(missing), "--output-dir", str(tmp_path / "sel")]) == 2
    assert not (tmp_path / "sel").exists()


def test_a_space_deeper_than_the_backbone_is_refused_before_the_study(synthetic_csv, tmp_path, capsys):
    space = tmp_path / "deep.yaml"
    space.write_text("space:\n  n_layers: {type: int, low: 1, high: 9}\n")
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    args = tune_args(synthetic_csv, storage, tmp_path / "out")
    args[args.index("--space") + 1] = str(space)
    assert main(args) == 2
    assert "space entry 'n_layers' reaches 9, but backbone 'random:bert' has 2 blocks" in capsys.readouterr().err
    assert not (tmp_path / "study.db").exists()


@pytest.mark.parametrize("entry,message", [
    ("learning_rate: {type: float, low: 0, high: 0.1, log: true}",
     "space entry 'learning_rate': a log scale needs low > 0, got 0"),  # was Optuna's ValueError traceback
    ("lookback: {type: int, low: 96, high: 48}", "space entry 'lookback': low 96 is above high 48"),
    ("foo: {type: int, low: 1, high: 2}", "space entry 'foo' is not a model or training setting"),
    ("prompt: {type: categorical, choices: []}", "space entry 'prompt' needs a non-empty 'choices' list"),
])
def test_a_bad_space_entry_is_one_line_naming_it(tmp_path, capsys, entry, message):
    from tsreprog.errors import ConfigError
    from tsreprog.tune.space import load_space

    space = tmp_path / "space.yaml"
    space.write_text(f"space:\n  {entry}\n")
    with pytest.raises(ConfigError, match="^" + str(space).replace("\\", "\\\\") + ": " + message.replace("(", r"\(")):
        load_space(space, "reprogrammed")


def test_zero_trials_is_refused_by_the_flag(capsys):
    with pytest.raises(SystemExit):
        main(["tune", "--n-trials", "0"])
    assert "--n-trials: invalid positive_int value: '0'" in capsys.readouterr().err
