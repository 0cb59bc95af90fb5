"""``python -m train.evaluate``: which tasks a features file supports, JSON output, one-line errors.

Features here are random arrays in the layout train.features writes; no model is needed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from backend.errors import UserError
from train.benchmarks.evaluate import evaluate_features, main
from train.benchmarks.features import save_features

ROOT = Path(__file__).resolve().parents[3]


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def scene_features(with_train: bool = True, n_classes: int = 6, dim: int = 16, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    centres = unit(rng.normal(size=(n_classes, dim)))
    test_y = np.repeat(np.arange(n_classes), 6)
    data = {
        "kind": np.array("scene"),
        "image_features": unit(centres[test_y] + 0.3 * rng.normal(size=(len(test_y), dim))),
        "labels": test_y,
        "class_names": np.array([f"c{i}" for i in range(n_classes)]),
        "text_features": unit(centres[None] + 0.5 * rng.normal(size=(2, n_classes, dim))),
    }
    if with_train:
        train_y = np.repeat(np.arange(n_classes), 10)
        data["train_image_features"] = unit(centres[train_y] + 0.3 * rng.normal(size=(len(train_y), dim)))
        data["train_labels"] = train_y
    return data


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


def test_scene_file_reports_all_scene_tasks(tmp_path: Path, capsys) -> None:
    path = save_features(tmp_path / "scene.npz", scene_features())
    rc, out, err = run_cli(capsys, str(path), "--shots", "1", "4", "--seeds", "0", "1")
    assert rc == 0, err
    result = json.loads(out)
    assert list(result) == ["zero_shot", "linear_probe", "knn", "few_shot"]
    assert set(result["zero_shot"]) == {"top1", "top5", "mean_per_class_recall"}
    assert set(result["linear_probe"]) == {"top1", "mean_per_class_recall", "C"}
    assert result["knn"]["k"] == 20 and result["knn"]["vote"] == "majority"
    assert set(result["few_shot"]) == {"1", "4"} and result["few_shot"]["4"]["runs"] == 2
    # few-shot reuses the linear probe's regularisation
    assert result["few_shot"]["1"]["C"] == result["linear_probe"]["C"]
    for task in ("zero_shot", "linear_probe", "knn"):
        assert 0 <= result[task]["top1"] <= 100


def test_tasks_follow_the_keys(tmp_path: Path, capsys) -> None:
    path = save_features(tmp_path / "zs.npz", scene_features(with_train=False))
    rc, out, _ = run_cli(capsys, str(path))
    assert rc == 0 and list(json.loads(out)) == ["zero_shot"]  # no train_* keys: probes left out

    # Asked for by name, a probe without training features is an error naming the key.
    rc, out, err = run_cli(capsys, str(path), "--tasks", "knn")
    assert rc == 2 and out == ""
    assert err.strip() == ("error: zs.npz has no 'train_image_features' (needed for knn) "
                           "(extract with --train-split train, or pass --train)")

    # --train supplies them from another file's image_features/labels.
    full = scene_features()
    train = save_features(tmp_path / "train.npz", {"image_features": full["train_image_features"],
                                                   "labels": full["train_labels"]})
    rc, out, err = run_cli(capsys, str(path), "--train", str(train), "--tasks", "knn", "linear_probe", "--k", "3")
    assert rc == 0, err
    result = json.loads(out)
    assert list(result) == ["knn", "linear_probe"] and result["knn"]["k"] == 3


def test_missing_labels_and_foreign_files_are_one_line_errors(tmp_path: Path, capsys) -> None:
    data = scene_features()
    del data["labels"]
    path = save_features(tmp_path / "nolabels.npz", data)
    rc, out, err = run_cli(capsys, str(path))
    assert rc == 2 and out == ""
    assert err.startswith("error: nolabels.npz has no 'labels' (") and err.count("\n") == 1

    text = tmp_path / "notes.txt"
    text.write_text("not numpy")
    rc, _, err = run_cli(capsys, str(text))
    assert rc == 2 and err.startswith("error: ") and "not a features .npz" in err and err.count("\n") == 1

    rc, _, err = run_cli(capsys, str(tmp_path / "missing.npz"))
    assert rc == 2 and "not found" in err


def test_mismatched_rows_are_reported(tmp_path: Path, capsys) -> None:
    data = scene_features()
    data["labels"] = data["labels"][:-1]
    rc, _, err = run_cli(capsys, str(save_features(tmp_path / "bad.npz", data)))
    assert rc == 2 and "'image_features' has 36 rows but 'labels' has 35" in err


def test_captions_and_counting_files() -> None:
    rng = np.random.default_rng(2)
    images = unit(rng.normal(size=(8, 16)))
    owner = np.repeat(np.arange(8), 2)
    captions = {"kind": np.array("captions"), "image_features": images,
                "text_features": unit(images[owner] + 0.2 * rng.normal(size=(16, 16))), "caption_image": owner}
    result = evaluate_features(captions)
    assert list(result) == ["retrieval"]
    assert set(result["retrieval"]) == {"i2t_R@1", "i2t_R@5", "i2t_R@10", "t2i_R@1", "t2i_R@5", "t2i_R@10",
                                        "mean_recall"}
    # A file without 'kind' but with caption_image is a retrieval file too.
    del captions["kind"]
    assert list(evaluate_features(captions)) == ["retrieval"]

    text = unit(rng.normal(size=(10, 16)))
    counts = np.arange(1, 11)
    counting = {"kind": np.array("counting"), "image_features": text, "labels": counts, "text_features": text}
    result = evaluate_features(counting)
    assert result == {"counting": {"top1": 100.0, "within_one": 100.0, "mean_abs_error": 0.0}}
    with pytest.raises(UserError, match="holds counting features, which support counting, not zero_shot"):
        evaluate_features(counting, tasks=["zero_shot"])
    with pytest.raises(UserError, match="has no 'caption_image'"):
        evaluate_features(counting, tasks=["retrieval"])


def test_module_runs_as_a_program(tmp_path: Path) -> None:
    """The real entry point: exit status 2 and a single line for a file that is not a npz."""
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"\x00garbage")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-m", "train.evaluate", str(bad)], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1 and proc.stdout == ""


def test_templates_choose_slices_of_the_text_features(tmp_path: Path, capsys) -> None:
    """--templates 1 scores as a file holding only that template; all of them is the default; a bad index is
    one line."""
    data = scene_features(with_train=False)
    path = save_features(tmp_path / "zs.npz", data)
    only = save_features(tmp_path / "only.npz", dict(data, text_features=data["text_features"][1:]))
    rc, out, _ = run_cli(capsys, str(path), "--tasks", "zero_shot", "--templates", "1")
    assert rc == 0
    assert json.loads(out) == json.loads(run_cli(capsys, str(only), "--tasks", "zero_shot")[1])
    both = json.loads(run_cli(capsys, str(path), "--tasks", "zero_shot", "--templates", "0", "1")[1])
    assert both == json.loads(run_cli(capsys, str(path), "--tasks", "zero_shot")[1])
    rc, _, err = run_cli(capsys, str(path), "--templates", "2")
    assert rc == 2 and err.strip() == "error: zs.npz has 2 templates (0 to 1): no template 2"
