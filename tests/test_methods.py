"""What every method script does alike: the PPO update reproduces the rollout's log-probs, every env id trains and
its checkpoint evaluates to the same number, seeded runs repeat, --help documents every field, a non-finite loss
stops the run with one line."""

import ast
import glob
import importlib
import re

import numpy as np
import pytest
import torch

import envs
from tests.scripts import TINY, make_args, run_script, scalars

METHODS = ("rnn", "rnn_hn", "vi_hn", "ti_naive", "ti", "ti_pp_hn")
VAE_METHODS = ("vi_hn", "ti_naive", "ti", "ti_pp_hn")


def no_precollect(method):
    """The VAE scripts' pre-collect phase would leave a tiny run without updates."""
    return ["--precollect-frames", "0"] if method in VAE_METHODS else []


@pytest.mark.parametrize("method, extra", [(m, []) for m in METHODS] + [("rnn", ["--pass-state"])])
def test_rollout_log_probs_are_reproduced_by_the_update(method, extra, tmp_path):
    """Importance ratio 1 before the first optimiser step of every update, with meta-episodes crossing rollouts.

    With a clip range of 1e-5, the clip fraction of the single minibatch counts samples whose recomputed
    log-prob differs from the rollout's: a wrong hidden state, reset, latent or normalisation makes it non-zero.
    TI and TI++HN cross the end of the multi-task phase after the first update.
    """
    args = ["--num-envs", "2", "--num-steps", "25", "--num-minibatches", "1", "--update-epochs", "1"]
    args += ["--total-timesteps", "150", "--clip-coef", "1e-5", "--eval-interval", "100"]
    args += [*no_precollect(method), *extra]
    if method in ("ti", "ti_pp_hn"):
        args += ["--ti-warmup-updates", "1"]
    run_script(method, args, tmp_path)
    logged = scalars(tmp_path)
    assert logged["losses/clipfrac"] == [0.0, 0.0, 0.0]
    assert max(abs(v) for v in logged["losses/old_approx_kl"]) < 1e-6
    if method in VAE_METHODS:
        assert len(logged["losses/kl"]) == 1  # the VAE trains once a meta-episode ended: after update 3 (step 60 of 75)


@pytest.mark.parametrize("method", METHODS)
def test_policy_init_std_sets_the_gaussians_initial_std(method):
    """--policy-init-std (reference §1.7's policy_init_std, 1 by default) is the std of every action dimension."""
    module = importlib.import_module(method)
    vec = envs.make("CheetahDir", 2, seed=0)
    for std in (1.0, 0.3):
        agent = module.Agent(vec, make_args(module, "CheetahDir", policy_init_std=std))
        torch.testing.assert_close(agent.actor_logstd.exp(), torch.full((1, 6), std))


@pytest.mark.parametrize("method", METHODS)
def test_seeded_runs_are_identical(method, tmp_path):
    logs = []
    for run in ("a", "b"):
        run_script(method, TINY + ["--env-id", "CheetahVel", "--seed", "3", *no_precollect(method)], tmp_path / run)
        logs.append(scalars(tmp_path / run))
    assert logs[0]["losses/value_loss"] == logs[1]["losses/value_loss"]
    assert logs[0]["eval/meta_episode_return"] == logs[1]["eval/meta_episode_return"]


# Every env id with every script, except Meta-World: a Meta-World run evaluates ~1000 policy steps per task set
# (training and held-out, ~15-40 s here) and the four ids share observations, actions, decoders and preset (only
# ML10's 13-d c_M differs from ML1's 3-d). rnn.py runs all four, rnn_hn.py ML1-reach and ML10, the VAE scripts one
# each: TI on ML10, whose c_M carries the class one-hot that g_phi embeds, TI Naive on ML1-reach (it regresses c_M).
META_WORLD_CASES = {"rnn": envs.METAWORLD_IDS, "rnn_hn": ("ML1-reach", "ML10"), "vi_hn": ("ML1-reach",)}
META_WORLD_CASES |= {"ti_naive": ("ML1-reach",), "ti": ("ML10",), "ti_pp_hn": ("ML1-reach",)}
EVERY_ENV = [
    (method, env_id)
    for env_id in envs.ENV_IDS
    for method in METHODS
    if env_id not in envs.METAWORLD_IDS or env_id in META_WORLD_CASES[method]
]


@pytest.mark.parametrize("method, env_id", EVERY_ENV)
def test_every_env_trains_and_its_checkpoint_evaluates(method, env_id, tmp_path):
    out = run_script(method, TINY + ["--env-id", env_id, "--save-model", *no_precollect(method)], tmp_path)
    assert "iter 2/2" in out
    logged = scalars(tmp_path)
    for tag in ("charts/SPS", "losses/value_loss", "eval/meta_episode_return", "eval/episode_1_return"):
        assert tag in logged and all(np.isfinite(logged[tag])), tag
    k = {"GridWorld": 4, "CheetahDir": 1, "CheetahVel": 1, "AntDir": 1}.get(
        env_id.replace("Show", "").replace("Dense", ""), 2
    )
    assert f"eval/episode_{k}_return" in logged and f"eval/episode_{k + 1}_return" not in logged
    # the mean |action| on continuous action spaces; success rates and held-out tasks on Meta-World
    continuous = env_id not in ("GridWorld", "GridWorldShow", "GridWorldDense", "MC-LS")
    assert ("eval/action_abs_mean" in logged) == continuous
    meta_world = {f"{split}/{tag}" for split in ("eval", "eval_test") for tag in ("success_rate", "episode_2_success")}
    meta_world |= {"eval_test/meta_episode_return"}
    assert meta_world <= set(logged) if env_id in envs.METAWORLD_IDS else not meta_world & set(logged)
    for split in ("eval", "eval_test") if env_id in envs.METAWORLD_IDS else ():  # the last inner episode's
        assert logged[f"{split}/success_rate"] == logged[f"{split}/episode_2_success"], split
    (checkpoint,) = glob.glob(str(tmp_path / "runs" / "*" / f"{method}.pt"))
    state = torch.load(checkpoint, weights_only=True)
    expected = {"agent", "obs_rms", "args"} | ({"latent_rms"} if method in VAE_METHODS else set())
    assert set(state) == expected and state["args"]["env_id"] == env_id
    assert any(name.startswith("decoder.") for name in state["agent"]) == (method in VAE_METHODS)
    # the checkpoint, evaluated on the same fresh tasks as the run's one evaluation, scores the same
    out = run_script(method, ["--eval-checkpoint", checkpoint, "--num-eval-tasks", "2"], tmp_path)
    reported = float(out.split("(eval): meta episode return ")[1].split(",")[0])
    assert reported == pytest.approx(logged["eval/meta_episode_return"][-1], abs=0.01)
    assert ("(eval_test): meta episode return" in out) == (env_id in envs.METAWORLD_IDS)
    if env_id == "GridWorld":  # a checkpoint of another model layout: one line, not a traceback
        name = next(k for k, v in state["agent"].items() if v.dim() == 2)
        state["agent"][name] = state["agent"][name].t().contiguous()
        torch.save(state, tmp_path / "other.pt")
        with pytest.raises(SystemExit, match=f"its agent does not fit this script's model.*{re.escape(name)}"):
            run_script(method, ["--eval-checkpoint", str(tmp_path / "other.pt")], tmp_path)


@pytest.mark.parametrize("method", METHODS)
def test_help_documents_every_field(method, tmp_path, monkeypatch):
    """Every Args field has a docstring, and --help shows each flag with the start of its docstring."""
    (args_class,) = [n for n in ast.parse(open(f"{method}.py").read()).body if getattr(n, "name", "") == "Args"]
    docs = {}
    for field, doc in zip(args_class.body, args_class.body[1:], strict=False):
        if isinstance(field, ast.AnnAssign):
            assert isinstance(doc, ast.Expr) and isinstance(doc.value.value, str), field.target.id
            docs[field.target.id] = " ".join(doc.value.value.split()[:3])
    monkeypatch.setenv("COLUMNS", "300")  # --help wraps at the terminal width
    out = " ".join(run_script(method, ["--help"], tmp_path).split())
    for field, doc in docs.items():
        assert "--" + field.replace("_", "-") in out, field
        assert doc in out, (field, doc)


@pytest.mark.parametrize("method", METHODS)
def test_non_finite_loss_stops_the_run(method, tmp_path, monkeypatch):
    huber = torch.nn.functional.huber_loss
    monkeypatch.setattr(torch.nn.functional, "huber_loss", lambda *a, **k: huber(*a, **k) * float("nan"))
    with pytest.raises(SystemExit, match="non-finite loss at iteration 1; try a lower --lr"):
        run_script(method, TINY + no_precollect(method), tmp_path)
