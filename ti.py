"""TI: ti_naive.py after a multi-task phase: the policy first learns from g_phi(c_M), the task itself; then every policy
parameter but g_phi is reset and the encoder learns to predict g_phi(c_M). Beck et al., NeurIPS 2023, paper §3.3;
reference §3.4. Usage: python ti.py --env-id GridWorld --lr 1e-3"""

# Citations: "reference §x" is section x of docs/reference.md (what the authors' code does), "paper §x" the paper's
# section x, "difference N" item N of docs/differences.md (where this code deliberately departs from the authors').
# benchmarks/diagnose.py and checkpoint_cost.py import this file as a module (Args, Agent, RunningMeanStd, VAEBuffer
# where there is one): keep those names. Shared plumbing (checkpoints, arguments' sources) is envs/runstate.py.
import os
import random
import time
from collections import deque
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
import tyro
from torch.distributions import Categorical, Normal
from torch.utils.tensorboard import SummaryWriter

import envs as meta_envs
from envs import runstate

METHOD = "ti"  # the method's name: its picked learning rates (envs.LEARNING_RATES), whatever this file is called


@dataclass
class Args:
    """Fields left at None take the paper's value for --env-id (envs.preset)."""

    exp_name: str = os.path.basename(__file__)[: -len(".py")]
    """the name of this experiment (used in the run name)"""
    seed: int = 1
    """seed of the experiment: tasks, network initialisation and action sampling"""
    torch_deterministic: bool = True
    """if toggled, `torch.backends.cudnn.deterministic=True`"""
    cuda: bool = False
    """use the GPU if one is available (a message says so when it is not)"""
    threads: int = 1
    """torch CPU threads; 1 is fastest on a loaded 2-core machine (docs/speed.md)"""
    env_workers: int = 0
    """step the sub-environments in this many worker processes (0: in this process): the same trajectories, faster
    where the simulator dominates and cores are free (Meta-World, MuJoCo; docs/speed.md)"""
    track: bool = False
    """log to Weights and Biases (needs `pip install wandb`)"""
    wandb_project_name: str = "hypermeta"
    """the W&B project name"""
    wandb_entity: str | None = None
    """the W&B entity (team)"""
    capture_video: bool = False
    """save a video of one evaluation meta-episode at the end of training to videos/{run_name}/"""
    save_model: bool = False
    """save the trained model to runs/{run_name}/{exp_name}.pt at the end of training"""
    eval_checkpoint: str | None = None
    """evaluate this checkpoint on --num-eval-tasks fresh tasks, print the returns and exit (no training)"""
    checkpoint_interval: int | None = None
    """write the whole training state to {run dir}/state.pt every this many updates, and on SIGTERM (0: only on
    SIGTERM); --resume continues from it"""
    resume: str | None = None
    """continue the run in this run directory from its state.pt, exactly as if it had not stopped; the run's own
    arguments apply, except --total-timesteps (to extend it), --checkpoint-interval, --save-model, --capture-video,
    --track, --threads and --cuda, which may be given again (docs/usage.md, "Resuming")"""

    # Algorithm arguments
    env_id: str = "GridWorld"
    """the environment id: GridWorld, GridWorldShow, GridWorldDense, CheetahDir, CheetahVel, AntDir, Walker, MC-LS,
    ML1-reach, ML1-push, ML1-pick-place, ML10, or module:EnvId for an env that your module registers (it is imported
    first, gymnasium's convention; docs/own_env.md)"""
    success_ends_episode: bool = False
    """Meta-World: end an inner episode at its first successful step, as the authors' ML10 does (difference 17);
    off: every inner episode runs its 500 steps, as the authors' ML1 does"""
    lr: float | None = None
    """learning rate of the policy (the VAE's is --lr-vae); default: the one picked for this method on --env-id
    (docs/learning_rates.md), from the paper's grid {3e-3, 1e-3, 3e-4, 1e-4, 3e-5}"""
    total_timesteps: int | None = None
    """total environment frames of the run"""
    num_envs: int | None = None
    """the number of parallel environments (tasks)"""
    num_steps: int | None = None
    """steps per environment per rollout"""
    anneal_lr: bool | None = None
    """linearly decay the learning rates to 0 (MC-LS)"""
    gamma: float | None = None
    """the discount factor"""
    gae_lambda: float | None = None
    """the lambda of generalized advantage estimation"""
    num_minibatches: int | None = None
    """minibatches per epoch; each holds num_envs / num_minibatches whole environment sequences"""
    update_epochs: int | None = None
    """PPO epochs per update"""
    clip_coef: float | None = None
    """the surrogate clipping coefficient, also used to clip the value function"""
    ent_coef: float | None = None
    """coefficient of the entropy bonus"""
    vf_coef: float | None = None
    """coefficient of the value loss"""
    max_grad_norm: float | None = None
    """maximum gradient norm of the policy (the VAE's updates are not clipped, reference §2.5)"""
    adam_eps: float | None = None
    """Adam epsilon of the policy optimizer"""
    proper_time_limits: bool | None = None
    """time-limit transitions get no advantage and cut GAE (reference §1.4)"""
    reward_clip: float | None = None
    """normalised rewards are clipped to +-reward_clip"""
    eval_interval: int | None = None
    """evaluate every this many updates"""
    num_eval_tasks: int = 16
    """fresh tasks per evaluation, one meta-episode each"""

    # Model arguments (reference §1.8, §2.1, §2.2)
    policy_init_std: float = 1.0
    """the Gaussian policy's initial standard deviation (continuous actions): its state-independent log-std starts at
    the log of this (reference §1.7: 1)"""
    action_embed_dim: int | None = None
    """encoder action embedding size (0: the encoder gets no actions)"""
    reward_embed_dim: int | None = None
    """encoder reward embedding size"""
    state_embed_dim: int | None = None
    """encoder next-observation embedding size"""
    gru_hidden_size: int | None = None
    """GRU hidden size"""
    latent_dim: int | None = None
    """size of the encoder's mu and of its logvar; the policy sees both"""
    latent_embed_dim: int | None = None
    """size of the latent embedding Linear(2 * latent_dim -> latent_embed_dim) + tanh: the MLPs' second input"""
    policy_state_embed_dim: int | None = None
    """size of the state embedding Linear(normalised state -> policy_state_embed_dim) + tanh: the MLPs' first input"""
    policy_hidden_sizes: tuple[int, ...] | None = None
    """hidden layer sizes of the actor and critic MLPs"""

    # VAE arguments (reference §1.1, §2.5, §3.6)
    lr_vae: float | None = None
    """learning rate of the encoder and decoders (Adam, default eps, no clipping, no annealing)"""
    precollect_frames: int | None = None
    """no update before this many frames have been collected; they count toward --total-timesteps"""
    decode_reward: bool | None = None
    """reconstruct the rewards"""
    decode_state: bool | None = None
    """reconstruct the next observations"""
    reward_decoder: str | None = None
    """bernoulli (grid-worlds: one head per cell, p(r = 1 | cell)) or mse (an MLP on z, s', a and s)"""
    reward_decoder_layers: tuple[int, ...] | None = None
    """hidden layer sizes of the reward decoder"""
    state_decoder_layers: tuple[int, ...] | None = None
    """hidden layer sizes of the next-observation decoder"""
    task_decoder_layers: tuple[int, ...] | None = None
    """hidden layer sizes of the task decoder, an MLP on z"""
    ti_warmup_updates: int | None = None
    """PPO updates of the multi-task phase, after pre-collect; default: the preset's, at most 5% of the run's updates"""
    reconstruct: bool = True
    """keep the reward/state reconstruction beside the task loss, as the released code (--no-reconstruct: task loss
    and KL only, the paper's text; decoder and KL keep the code's form; difference 6)"""
    kl_weight: float | None = None
    """weight of the KL term of the ELBO"""
    vae_buffer_size: int | None = None
    """completed meta-episodes kept for the ELBO (FIFO)"""
    vae_batch_size: int | None = None
    """meta-episodes per VAE update"""
    vae_updates: int | None = None
    """VAE updates after each PPO update"""
    vae_subsample_elbos: int | None = None
    """ELBO terms (posteriors) drawn per meta-episode; 0: all of them"""
    vae_subsample_decodes: int | None = None
    """decoded steps drawn per ELBO term and meta-episode; 0: all of them"""
    vae_resample_decodes: bool | None = None
    """draw as many decoded steps as the batch's longest meta-episode has (overrides --vae-subsample-decodes)"""

    # to be filled in runtime
    batch_size: int = 0
    """the batch size (computed in runtime)"""
    minibatch_size: int = 0
    """the mini-batch size (computed in runtime)"""
    num_iterations: int = 0
    """the number of iterations (computed in runtime)"""


def normc_(weight, gain):
    """Each output unit's weight row gets L2 norm `gain` (reference §2.2)."""
    with torch.no_grad():
        w = torch.randn_like(weight)
        weight.copy_(gain * w / w.norm(dim=1, keepdim=True))
    return weight


def layer_init(layer, gain, init="normc"):
    if init == "normc":
        normc_(layer.weight, gain)
    else:
        nn.init.orthogonal_(layer.weight, gain)
    nn.init.zeros_(layer.bias)
    return layer


class RunningMeanStd:
    """Running mean and variance over a stream of numpy batches (Chan et al.'s parallel update)."""

    def __init__(self, shape=()):
        self.mean, self.var, self.count = np.zeros(shape), np.ones(shape), 1e-4

    def update(self, x):
        x = np.asarray(x, np.float64).reshape(-1, *self.mean.shape)
        batch_mean, batch_var, n = x.mean(0), x.var(0), x.shape[0]
        delta, total = batch_mean - self.mean, self.count + n
        self.mean = self.mean + delta * n / total
        self.var = (self.var * self.count + batch_var * n + delta**2 * self.count * n / total) / total
        self.count = total

    def normalize(self, x):
        """(x - mean) / sqrt(var + 1e-8) for a torch tensor x, without clipping (reference §1.6)."""
        mean = torch.as_tensor(self.mean, dtype=x.dtype, device=x.device)
        return (x - mean) / torch.as_tensor(np.sqrt(self.var + 1e-8), dtype=x.dtype, device=x.device)

    def state_dict(self):
        return {
            "mean": torch.tensor(self.mean),
            "var": torch.tensor(self.var),
            "count": torch.tensor(self.count, dtype=torch.float64),
        }

    def load_state_dict(self, d):
        self.mean, self.var, self.count = d["mean"].numpy(), d["var"].numpy(), float(d["count"])


class Encoder(nn.Module):
    """GRU over ReLU embeddings of (action, raw reward, raw next observation), then Linear(-> 2L) (reference §2.1)."""

    def __init__(self, obs_dim, action_dim, args):
        super().__init__()
        self.action_embed = nn.Linear(action_dim, args.action_embed_dim) if args.action_embed_dim else None
        self.reward_embed = nn.Linear(1, args.reward_embed_dim)
        self.state_embed = nn.Linear(obs_dim, args.state_embed_dim)
        self.input_dim = args.action_embed_dim + args.reward_embed_dim + args.state_embed_dim
        self.gru = nn.GRUCell(self.input_dim, args.gru_hidden_size)
        for name, param in self.gru.named_parameters():  # orthogonal weights, zero biases (reference §2.1)
            nn.init.orthogonal_(param) if "weight" in name else nn.init.zeros_(param)
        self.head = nn.Linear(args.gru_hidden_size, 2 * args.latent_dim)  # -> concat(mu, logvar)

    def embed(self, actions, rewards, next_obs):
        """(T, N, ...) transitions -> (T, N, input_dim). Discrete actions enter as their index (one float)."""
        parts = [F.relu(self.reward_embed(rewards.unsqueeze(-1))), F.relu(self.state_embed(next_obs))]
        if self.action_embed is not None:
            a = actions if actions.dim() == next_obs.dim() else actions.unsqueeze(-1)
            parts.insert(0, F.relu(self.action_embed(a)))
        return torch.cat(parts, -1)

    def prior(self, n):
        """Zero hidden state, and the prior output: one GRU step on a zero input from it (reference §2.1)."""
        h = torch.zeros(n, self.gru.hidden_size, device=self.head.weight.device)
        return h, self.gru(torch.zeros(n, self.input_dim, device=h.device), h)

    def forward(self, x, h, starts):
        """Encoder outputs for T consecutive steps of N environments.

        x[t] is the embedded transition from step t to t+1; h the state at step 0; starts[t] marks steps that
        begin a meta-episode: the state is reset after the terminal transition and the output is the prior.
        Returns the (T, N, hidden) outputs and the state at step T (before the step-T reset).
        """
        gi = F.linear(x, self.gru.weight_ih, self.gru.bias_ih)  # input projections of all steps at once
        keep = 1.0 - starts.unsqueeze(-1)
        states, h = GRUSequence.apply(gi, h, self.gru.weight_hh, self.gru.bias_hh, keep)
        return torch.where(keep.bool(), states, self.prior(h.shape[0])[1]), h


class GRUSequence(torch.autograd.Function):
    """nn.GRUCell's recurrence over T steps with resets, h_t = GRUCell(x_{t-1}, h_{t-1}) * keep_t.

    The function of a Python loop over nn.GRUCell and its gradients (tests/test_rnn.py checks both), faster: few
    ops per step (at these sizes the loop is bound by per-op overhead), the gates' local derivatives computed for
    all steps at once after the forward loop, and the recurrent weight's gradient as one matmul over all steps.
    """

    @staticmethod
    def forward(ctx, gi, h, weight_hh, bias_hh, keep):
        H = h.shape[1]
        resets = (keep < 1).flatten(1).any(1).tolist()  # the steps where some state is reset
        weight_hh_t = weight_hh.t().contiguous()  # small-batch matmuls are ~1.5x faster with this layout
        states, gates = [], []
        for t, (gi_rz, gi_n) in enumerate(zip(*gi.split([2 * H, H], -1), strict=True)):
            if resets[t]:
                h = h * keep[t]
            states.append(h)
            gh_rz, h_n = torch.addmm(bias_hh, h, weight_hh_t).split([2 * H, H], 1)
            rz = torch.sigmoid(gi_rz + gh_rz)
            n = torch.addcmul(gi_n, rz[:, :H], h_n).tanh_()
            h = torch.lerp(n, h, rz[:, H:])  # n + z * (h - n)
            gates.append((rz, n, h_n))
        states, (rz, n, h_n) = torch.stack(states), map(torch.stack, zip(*gates, strict=True))
        r, z = rz.chunk(2, -1)
        # every step's d(gate pre-activations)/d(new h): d_gi = d_h * [d_r, d_z, d_n], d_gh = d_h * d_gates_h
        d_n = (1 - z) * (1 - n * n)
        d_r, d_z = d_n * h_n * r * (1 - r), (states - n) * z * (1 - z)
        d_gates_i, d_gates_h = torch.cat([d_r, d_z, d_n], -1), torch.cat([d_r, d_z, d_n * r], -1)
        ctx.resets = resets
        ctx.save_for_backward(states, z, d_gates_i, d_gates_h, weight_hh, keep)
        return states, h

    @staticmethod
    def backward(ctx, d_states, d_h):
        states, z, d_gates_i, d_gates_h, weight_hh, keep = ctx.saved_tensors
        d_hs, d_gh = [], torch.empty_like(d_gates_h)
        d_gates_h3, d_gh3 = d_gates_h.unflatten(-1, (3, -1)), d_gh.unflatten(-1, (3, -1))  # views: no per-step repeat
        for t in reversed(range(states.shape[0])):
            d_hs.append(d_h)
            torch.mul(d_gates_h3[t], d_h.unsqueeze(1), out=d_gh3[t])
            d_h = torch.addmm(torch.addcmul(d_states[t], d_h, z[t]), d_gh[t], weight_hh)
            if ctx.resets[t]:
                d_h = d_h * keep[t]
        d_gi = torch.stack(d_hs[::-1]).repeat(1, 1, 3) * d_gates_i
        d_gh = d_gh.flatten(0, 1)
        return d_gi, d_h, d_gh.t() @ states.flatten(0, 1), d_gh.sum(0), None


class VAEBuffer:
    """FIFO buffer of completed meta-episodes for the ELBO (reference §2.5), filled one vector-env step at a time.

    Row i < size holds a completed meta-episode: its H+1 observations s_0..s_H, H actions, H raw rewards, its length
    H and its task c_M; rows size.. hold each environment's meta-episode in progress; steps past a row's length are
    stale, and every loss masks them. Observations are float16 where float32 would pass 2 GiB (MC-LS: 10,000 x 403
    x 301; its views are multiples of 1/128, exact in float16)."""

    ARRAYS = ("obs", "actions", "rewards", "tasks", "lengths")  # one row per meta-episode

    def __init__(self, size, envs):
        rows, horizon, obs_dim = size + envs.num_envs, envs.meta_episode_horizon, envs.single_observation_space.shape[0]
        obs_dtype = np.float16 if rows * (horizon + 1) * obs_dim * 4 > 2**31 else np.float32
        self.obs = np.zeros((rows, horizon + 1, obs_dim), obs_dtype)
        self.actions = np.zeros((rows, horizon, *envs.single_action_space.shape), np.float32)
        self.rewards = np.zeros((rows, horizon), np.float32)
        self.tasks = np.zeros((rows, envs.task_dim), np.float32)
        self.lengths = np.zeros(rows, np.int64)
        self.size, self.count, self.next = size, 0, 0
        self.running = size + np.arange(envs.num_envs)

    def start(self, env_ids, obs, tasks):
        rows = self.running[env_ids]
        self.obs[rows, 0], self.tasks[rows], self.lengths[rows] = obs, tasks, 0

    def step(self, actions, rewards, next_obs, dones, final_obs, tasks):
        """One step of every environment; a finished meta-episode's s' is its own last observation (final_obs),
        it moves to the FIFO, and the environment's next one starts from next_obs (same-step autoreset)."""
        rows, t = self.running, self.lengths[self.running]
        self.actions[rows, t], self.rewards[rows, t] = actions, rewards
        self.obs[rows, t + 1] = np.where(dones[:, None], final_obs, next_obs)
        self.lengths[rows] += 1
        ended = np.flatnonzero(dones)
        for row in rows[ended]:
            for k in self.ARRAYS:
                getattr(self, k)[self.next] = getattr(self, k)[row]
            self.next, self.count = (self.next + 1) % self.size, min(self.count + 1, self.size)
        self.start(ended, next_obs[ended], tasks[ended])

    def batch(self, rows, device):
        """Meta-episodes `rows`, time-major, cut to the longest: obs (H+1, B, obs_dim), actions (H, B, ...),
        rewards (H, B), lengths (B,), tasks (B, task_dim)."""
        h = int(self.lengths[rows].max())
        steps = (self.obs[rows, : h + 1], self.actions[rows, :h], self.rewards[rows, :h])
        steps = [torch.as_tensor(np.swapaxes(x, 0, 1), dtype=torch.float32, device=device) for x in steps]
        return *steps, torch.as_tensor(self.lengths[rows], device=device), torch.tensor(self.tasks[rows], device=device)

    def sample(self, n, device):
        """n completed meta-episodes drawn without replacement (all of them while fewer are stored)."""
        return self.batch(np.random.choice(self.count, min(n, self.count), replace=False), device)

    def state_dict(self):
        """The stored rows only (a filling buffer's checkpoint grows with it), whole: stale steps included."""
        rows = np.r_[: self.count, self.running]
        return {k: torch.from_numpy(getattr(self, k)[rows]) for k in self.ARRAYS} | {
            "count": self.count,
            "next": self.next,
        }

    def load_state_dict(self, state):
        self.count, self.next = state["count"], state["next"]
        for k in self.ARRAYS:
            getattr(self, k)[np.r_[: self.count, self.running]] = state[k].numpy()


def encode(encoder, obs, actions, rewards):
    """GRU states after 0..H transitions of meta-episodes encoded from the prior, (H+1, B, hidden), step 0 the prior
    output (reference §2.1): encoder.head of these gives the H+1 posteriors, the prior's included (reference §2.5)."""
    starts = torch.zeros_like(rewards)
    starts[0] = 1.0
    h0 = torch.zeros(rewards.shape[1], encoder.gru.hidden_size, device=rewards.device)
    outputs, h = encoder(encoder.embed(actions, rewards, obs[1:]), h0, starts)
    return torch.cat([outputs, h.unsqueeze(0)])


def running_encoder_state(encoder, vae_buffer, device):
    """Each environment's GRU state on its running meta-episode, re-encoded by the current encoder (reference §1.1)."""
    obs, actions, rewards, lengths, _ = vae_buffer.batch(vae_buffer.running, device)
    if rewards.shape[0] == 0:
        return torch.zeros(len(lengths), encoder.gru.hidden_size, device=device)
    states = encode(encoder, obs, actions, rewards)
    return states[lengths, torch.arange(len(lengths), device=device)] * (lengths > 0).unsqueeze(-1)


def mlp(sizes):
    """A ReLU MLP with PyTorch's default init, as every decoder (reference §3.6)."""
    layers = [m for i, o in zip(sizes[:-2], sizes[1:-1], strict=True) for m in (nn.Linear(i, o), nn.ReLU())]
    return nn.Sequential(*layers, nn.Linear(sizes[-2], sizes[-1]))


class TransitionDecoder(nn.Module):
    """An MLP on z and ReLU embeddings of the decoded step's s' (reward decoder only), a and s (reference §3.6). The
    decoder has its own embeddings, sized as the encoder's; s and s' share one, as in VariBAD."""

    def __init__(self, obs_dim, action_dim, args, layers, out_dim, next_obs):
        super().__init__()
        self.state_embed = nn.Linear(obs_dim, args.state_embed_dim)
        self.action_embed = nn.Linear(action_dim, args.action_embed_dim) if args.action_embed_dim else None
        self.next_obs = next_obs
        in_dim = args.latent_dim + (1 + next_obs) * args.state_embed_dim + args.action_embed_dim
        self.mlp = mlp((in_dim, *layers, out_dim))

    def embed(self, obs, actions):
        """(H+1, B, obs_dim) observations and (H, B, ...) actions -> (H, B, k) embedded steps."""
        parts = [F.relu(self.state_embed(obs[:-1]))]
        if self.action_embed is not None:
            a = actions if actions.dim() == obs.dim() else actions.unsqueeze(-1)
            parts.insert(0, F.relu(self.action_embed(a)))
        if self.next_obs:
            parts.insert(0, F.relu(self.state_embed(obs[1:])))
        return torch.cat(parts, -1)

    def forward(self, z, steps):
        """z (E, B, L) per ELBO term, steps (E or 1, D, B, k) the decoded steps' embeddings -> (E, D, B, out)."""
        e, d = z.shape[0], steps.shape[1]
        return self.mlp(torch.cat([z.unsqueeze(1).expand(e, d, -1, -1), steps.expand(e, d, -1, -1)], -1))


class Decoder(nn.Module):
    """VariBAD's decoders (reference §3.6 table), the reward and/or next observation from a posterior sample, and the
    task decoder (reference §3.3)."""

    def __init__(self, obs_space, action_dim, task_dim, args):
        super().__init__()
        obs_dim = obs_space.shape[0]
        self.reward = self.state = None
        self.task = mlp((args.latent_dim, *args.task_decoder_layers, task_dim))
        if args.decode_reward and args.reward_decoder == "bernoulli":
            # grid-worlds: p(r = 1 | z, cell), one logit per cell, from z alone
            self.grid_height = int(obs_space.high[1]) + 1
            self.num_cells = (int(obs_space.high[0]) + 1) * self.grid_height
            self.reward = mlp((args.latent_dim, *args.reward_decoder_layers, self.num_cells))
        elif args.decode_reward:
            self.reward = TransitionDecoder(obs_dim, action_dim, args, args.reward_decoder_layers, 1, next_obs=True)
        if args.decode_state:
            self.state = TransitionDecoder(obs_dim, action_dim, args, args.state_decoder_layers, obs_dim, False)

    def forward(self, z, obs, actions, rewards, dec_t):
        """The reconstruction loss of each decoded step under each ELBO term's sample, (E, D, B).

        z (E, B, L): one sample per ELBO term; obs (H+1, B, obs_dim), actions and raw rewards (H, B): the
        meta-episodes; dec_t (E or 1, D, B): the decoded steps. Reward: binary cross-entropy or squared error;
        next observation: squared error averaged over its dimensions (VariBAD's per-step losses).
        """
        traj = torch.arange(z.shape[1], device=z.device)
        loss = torch.zeros((), device=z.device)
        if isinstance(self.reward, nn.Sequential):
            # The head is the cell the agent observes at s' (x, y; the done flag aside), the target 1[r = 1],
            # also on GridWorldDense. A terminal step's flag-1 observation is where the reward was earned; on
            # GridWorldShow the start cell shows the goal's coordinates, so that head also sees r = -0.1 there.
            cell = (obs[1:, :, 0] * self.grid_height + obs[1:, :, 1]).round().long().clamp(0, self.num_cells - 1)
            logits = self.reward(z).unsqueeze(1).expand(-1, dec_t.shape[1], -1, -1)
            logit = logits.gather(-1, cell[dec_t, traj].expand(logits.shape[:-1]).unsqueeze(-1)).squeeze(-1)
            target = (rewards == 1.0).float()[dec_t, traj].expand_as(logit)
            loss = loss + F.binary_cross_entropy_with_logits(logit, target, reduction="none")
        elif self.reward is not None:
            prediction = self.reward(z, self.reward.embed(obs, actions)[dec_t, traj]).squeeze(-1)
            loss = loss + (prediction - rewards[dec_t, traj]).square()
        if self.state is not None:
            prediction = self.state(z, self.state.embed(obs, actions)[dec_t, traj])
            loss = loss + (prediction - obs[1:][dec_t, traj]).square().mean(-1)
        return loss


def kl_chain(mu, logvar):
    """KL(q_t || q_{t-1}), (H+1, B), of each posterior t = 0..H to the one before, q_{-1} = N(0, I) (reference §2.5)."""
    prev_mu, prev_logvar = F.pad(mu, (0, 0, 0, 0, 1, 0))[:-1], F.pad(logvar, (0, 0, 0, 0, 1, 0))[:-1]
    return 0.5 * (prev_logvar - logvar - 1 + (logvar.exp() + (mu - prev_mu).square()) / prev_logvar.exp()).sum(-1)


def step_indices(valid, total, num, lead=()):
    """Steps 0..total-1 of each meta-episode b, of which the first valid[b] are real: all of them and a mask
    (num = 0), or num drawn with replacement from each one's own real steps: (time, trajectory) pairs, as VariBAD
    intends (difference 3). Returns indices and mask, (*lead, num, B) or (1.., total, B)."""
    if not num:
        t = torch.arange(total, device=valid.device).unsqueeze(1).expand(total, len(valid))[(None,) * len(lead)]
        return t, (t < valid).float()
    t = (torch.rand(*lead, num, len(valid), device=valid.device) * valid).long()
    return t, torch.ones_like(t, dtype=torch.float32)


def vae_losses(agent, obs, actions, rewards, lengths, args, task_target):
    """The ELBO's terms on a batch from VAEBuffer.batch (reference §2.5): each meta-episode is encoded from the prior,
    one z is drawn per posterior, each ELBO term decodes the meta-episode's steps. Reductions as VariBAD's:
    reconstruction summed over ELBO terms and decoded steps, averaged over meta-episodes; KL summed over ELBO terms
    and over meta-episodes; task: the squared error to task_target (B, k) averaged over its dimensions, summed over
    ELBO terms and over meta-episodes. Returns the loss, reconstruction + kl_weight * KL + task, and the terms."""
    h, b = rewards.shape
    mu, logvar = agent.encoder.head(encode(agent.encoder, obs, actions, rewards)).chunk(2, -1)
    z = mu + (0.5 * logvar).exp() * torch.randn_like(mu)
    # ELBO terms: posteriors 0..H_b; decoded steps: transitions 0..H_b-1, past and future (reference §2.5)
    elbo_t, elbo_mask = step_indices(lengths + 1, h + 1, args.vae_subsample_elbos)
    num_decodes = h if args.vae_resample_decodes else args.vae_subsample_decodes
    dec_t, dec_mask = step_indices(lengths, h, num_decodes, (elbo_t.shape[0],))
    traj = torch.arange(b, device=obs.device)
    kl = (kl_chain(mu, logvar)[elbo_t, traj] * elbo_mask).sum()
    losses = agent.decoder(z[elbo_t, traj], obs, actions, rewards, dec_t)
    reconstruction = (losses * elbo_mask.unsqueeze(1) * dec_mask).sum() / b
    task = ((agent.decoder.task(z[elbo_t, traj]) - task_target).square().mean(-1) * elbo_mask).sum()
    return reconstruction + args.kl_weight * kl + task, reconstruction, kl, task


class Agent(nn.Module):
    def __init__(self, envs, args):
        super().__init__()
        obs_dim = envs.single_observation_space.shape[0]
        self.discrete = isinstance(envs.single_action_space, gym.spaces.Discrete)
        action_dim = 1 if self.discrete else envs.single_action_space.shape[0]
        n_out = envs.single_action_space.n if self.discrete else action_dim
        self.encoder = Encoder(obs_dim, action_dim, args)
        # no hypernetwork: concat(state embedding, latent embedding) -> separate actor and critic MLPs (reference §3.3)
        self.latent_embed = nn.Sequential(nn.Linear(2 * args.latent_dim, args.latent_embed_dim), nn.Tanh())
        # g_phi = tanh(Linear(normalised c_M)): the multi-task phase's input in place of the latent's (reference §3.4)
        self.task_embed = nn.Sequential(nn.Linear(envs.task_dim, args.latent_embed_dim), nn.Tanh())
        self.state_embed = nn.Sequential(nn.Linear(obs_dim, args.policy_state_embed_dim), nn.Tanh())
        h1, h2 = args.policy_hidden_sizes
        in_dim = args.policy_state_embed_dim + args.latent_embed_dim
        self.actor = nn.Sequential(
            layer_init(nn.Linear(in_dim, h1), 5 / 3),
            nn.Tanh(),
            layer_init(nn.Linear(h1, h2), 5 / 3),
            nn.Tanh(),
            layer_init(nn.Linear(h2, n_out), 0.01, "orthogonal")
            if self.discrete
            else layer_init(nn.Linear(h2, n_out), 1.0),
        )
        self.critic = nn.Sequential(
            layer_init(nn.Linear(in_dim, h1), 5 / 3),
            nn.Tanh(),
            layer_init(nn.Linear(h1, h2), 5 / 3),
            nn.Tanh(),
            nn.Linear(h2, 1),  # PyTorch's default init (reference §2.2)
        )
        if not self.discrete:  # state-independent log-std, not generated (reference §1.7)
            self.actor_logstd = nn.Parameter(torch.full((1, n_out), float(np.log(args.policy_init_std))))
        # the task decoder predicts g_phi(c_M) (reference §3.4)
        self.decoder = Decoder(envs.single_observation_space, action_dim, args.latent_embed_dim, args)

    def policy_parameters(self):
        return [p for name, p in self.named_parameters() if not name.startswith(("encoder.", "decoder."))]

    def vae_parameters(self):
        return [*self.encoder.parameters(), *self.decoder.parameters()]

    def policy_input(self, latent, obs, task=None, use_task=None):
        """latent: the normalised concat(mu, logvar), computed without gradient: PPO never reaches the encoder.
        Where use_task is 1, g_phi(task) replaces the latent embedding (the multi-task policy; reference §3.4)."""
        embedding = self.latent_embed(latent)
        if use_task is not None and use_task.any():  # g_phi gets no gradient (and stays put) once unused
            embedding = torch.where(use_task.bool().unsqueeze(-1), self.task_embed(task), embedding)
        return torch.cat([self.state_embed(obs), embedding], -1)

    def task_target(self, task):
        """The task decoder's target: g_phi(normalised c_M) with stop-gradient, so the task loss never reaches g_phi."""
        return self.task_embed(task).detach()

    def get_value(self, latent, obs, task=None, use_task=None):
        return self.critic(self.policy_input(latent, obs, task, use_task))

    def get_action_and_value(self, latent, obs, action=None, deterministic=False, task=None, use_task=None):
        x = self.policy_input(latent, obs, task, use_task)
        if self.discrete:
            logits = self.actor(x)
            dist = Categorical(logits=logits, validate_args=False)
            if action is None:
                action = logits.argmax(-1) if deterministic else dist.sample()
            return action, dist.log_prob(action), dist.entropy(), self.critic(x)
        mean = self.actor(x)
        dist = Normal(mean, self.actor_logstd.expand_as(mean).exp().clamp_min(1e-6), validate_args=False)
        if action is None:
            action = mean if deterministic else dist.sample()
        return action, dist.log_prob(action).sum(-1), dist.entropy().sum(-1), self.critic(x)


def reset_policy(agent, fresh_agent):
    """TI's hard reset at the end of the multi-task phase (reference §3.4): every policy parameter except g_phi takes
    its value from an Agent initialised at start-up; the optimizer's state is kept, as in the reference
    (reference §6.19)."""
    fresh = dict(fresh_agent.named_parameters())
    with torch.no_grad():
        for name, param in agent.named_parameters():
            if not name.startswith(("encoder.", "decoder.", "task_embed.")):
                param.copy_(fresh[name])


def scale_rewards(reward, discounted_return, done, return_rms, args):
    """PPO's rewards (reference §1.6): `reward` divided by the running std of the discounted return, clipped to
    +-reward_clip. Returns them and the discounted return, reset where a meta-episode ended (`done`)."""
    discounted_return = discounted_return * args.gamma + reward
    return_rms.update(discounted_return)
    discounted_return[done] = 0.0
    scaled = reward / np.sqrt(return_rms.var + 1e-8)
    return np.clip(scaled, -args.reward_clip, args.reward_clip), discounted_return


def gae(rewards, values, dones, time_limits, next_value, next_done, args):
    """Generalized advantage estimation over a (T, N) rollout (reference §1.4 item 1); dones[t] marks obs[t] as the
    start of a meta-episode (the BAMDP done): no value is bootstrapped across it. Returns the advantages, normalised,
    and the value targets."""
    advantages = torch.zeros_like(rewards)
    lastgaelam = 0
    num_steps = rewards.shape[0]
    for t in reversed(range(num_steps)):
        if t == num_steps - 1:
            nextnonterminal = 1.0 - next_done
            nextvalues = next_value
        else:
            nextnonterminal = 1.0 - dones[t + 1]
            nextvalues = values[t + 1]
        delta = rewards[t] + args.gamma * nextvalues * nextnonterminal - values[t]
        lastgaelam = delta + args.gamma * args.gae_lambda * nextnonterminal * lastgaelam
        # proper time limits (reference §1.4): a time-limit transition gets no advantage and cuts GAE
        lastgaelam = lastgaelam * (1.0 - time_limits[t])
        advantages[t] = lastgaelam
    returns = advantages + values
    # advantages are normalised over the whole rollout (reference §1.4)
    advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-5)
    return advantages, returns


def ppo_loss(newlogprob, entropy, newvalue, mb_logprobs, mb_advantages, mb_returns, mb_values, args):
    """PPO's loss on a minibatch (reference §1.4 item 5) and its diagnostics: returns loss, pg_loss, v_loss,
    entropy_loss, old_approx_kl, approx_kl and the fraction of clipped ratios."""
    logratio = newlogprob - mb_logprobs
    ratio = logratio.exp()

    with torch.no_grad():
        # calculate approx_kl http://joschu.net/blog/kl-approx.html
        old_approx_kl = (-logratio).mean()
        approx_kl = ((ratio - 1) - logratio).mean()
        clipfrac = ((ratio - 1.0).abs() > args.clip_coef).float().mean().item()

    # Policy loss
    pg_loss1 = -mb_advantages * ratio
    pg_loss2 = -mb_advantages * torch.clamp(ratio, 1 - args.clip_coef, 1 + args.clip_coef)
    pg_loss = torch.max(pg_loss1, pg_loss2).mean()

    # Value loss: clipped, with a Huber loss (reference §1.4)
    newvalue = newvalue.view(-1)
    v_clipped = mb_values + torch.clamp(newvalue - mb_values, -args.clip_coef, args.clip_coef)
    v_loss_unclipped = F.huber_loss(newvalue, mb_returns, reduction="none")
    v_loss_clipped = F.huber_loss(v_clipped, mb_returns, reduction="none")
    v_loss = 0.5 * torch.max(v_loss_unclipped, v_loss_clipped).mean()

    entropy_loss = entropy.mean()
    loss = pg_loss - args.ent_coef * entropy_loss + v_loss * args.vf_coef
    return loss, pg_loss, v_loss, entropy_loss, old_approx_kl, approx_kl, clipfrac


def clip_gradients(agent, args):
    """Each part of the agent that PPO trains has its gradient norm clipped to max_grad_norm on its own."""
    nn.utils.clip_grad_norm_(agent.policy_parameters(), args.max_grad_norm)


def evaluate(agent, eval_envs, obs_rms, latent_rms, device, video_frames=None):
    """One meta-episode on each of eval_envs.num_envs fresh tasks, deterministic actions, no resets inside.

    Returns {tag: mean over the tasks} (reference §5.1): the meta-episode return, each inner episode's return
    and, where the env reports success (Meta-World), each one's success rate; on continuous action spaces also the
    mean |action|, which shows a too-large learning rate's jump in the policy (docs/rnn_hn.md, "Learning rates").
    """
    n = eval_envs.num_envs
    next_obs, _ = eval_envs.reset()
    next_obs = torch.tensor(next_obs, device=device)
    starts = torch.ones(n, device=device)
    finished = np.zeros(n, bool)
    episode_returns = np.zeros((n, eval_envs.episodes_per_task))
    episode_successes = np.zeros((n, eval_envs.episodes_per_task))
    action_sizes = []  # mean |action| of each step of each unfinished task
    if video_frames is not None:
        video_frames.append(eval_envs.render()[0])
    with torch.no_grad():
        encoder_state, encoder_prior = agent.encoder.prior(n)
        while not finished.all():
            encoder_output = torch.where(starts.bool().unsqueeze(-1), encoder_prior, encoder_state)
            latent = latent_rms.normalize(agent.encoder.head(encoder_output))
            action = agent.get_action_and_value(latent, obs_rms.normalize(next_obs), deterministic=True)[0]
            action_sizes.append(np.abs(action.cpu().numpy().reshape(n, -1)).mean(1)[~finished])
            obs, reward, terminations, truncations, infos = eval_envs.step(action.cpu().numpy())
            if video_frames is not None and not finished[0]:
                video_frames.append(eval_envs.render()[0])
            x = agent.encoder.embed(
                action.float(), torch.tensor(reward, device=device), torch.tensor(obs, device=device)
            )
            encoder_state = agent.encoder.gru(x, encoder_state)
            done = np.logical_or(terminations, truncations)
            for i in np.flatnonzero(done & ~finished):
                episode_returns[i] = infos["episode_returns"][i]
                episode_successes[i] = infos.get("episode_successes", episode_successes)[i]
            finished |= done
            starts = torch.tensor(done, dtype=torch.float32, device=device)
            next_obs = torch.tensor(obs, device=device)
    results = {"meta_episode_return": episode_returns.sum(1).mean()}
    results.update({f"episode_{k + 1}_return": r for k, r in enumerate(episode_returns.mean(0))})
    if eval_envs.reports_success:
        results["success_rate"] = episode_successes[:, -1].mean()  # the last inner episode's, after adapting
        results.update({f"episode_{k + 1}_success": s for k, s in enumerate(episode_successes.mean(0))})
    if not agent.discrete:
        results["action_abs_mean"] = np.concatenate(action_sizes).mean()
    return results


def video(agent, normalisers, device, args, path):
    """Record one evaluation meta-episode on a fresh task to an mp4 file."""
    import imageio.v3 as iio

    video_kwargs = {"render_mode": "rgb_array", "success_ends_episode": args.success_ends_episode}
    frames, video_envs = [], meta_envs.make(args.env_id, 1, seed=args.seed + 200_000, **video_kwargs)
    evaluate(agent, video_envs, *normalisers, device, frames)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    iio.imwrite(path, np.stack(frames), fps=video_envs.metadata["render_fps"])
    print(f"video: {path}")


if __name__ == "__main__":
    # --help: this file's docstring, then every field, with the defaults that the preset fills
    args = tyro.cli(runstate.preset_help(Args), description=__doc__)
    # --resume and --eval-checkpoint take their run's arguments, fields left at None the env's preset
    state, checkpoint, sources = runstate.resolve_args(args, Args(), METHOD, os.path.basename(__file__))
    warmup_given = "preset" not in sources["ti_warmup_updates"]  # else the preset's, capped below
    if args.lr is None or args.lr <= 0:  # None: METHOD has no picked lr on this env id
        raise SystemExit(f"error: --lr must be given and positive, got {args.lr}")
    if not args.policy_init_std > 0:
        raise SystemExit(f"error: --policy-init-std must be positive, got {args.policy_init_std}")
    sizes = (args.num_envs, args.num_steps, args.num_minibatches, args.update_epochs, args.total_timesteps)
    if min(*sizes, args.eval_interval) < 1:
        raise SystemExit(
            "error: --num-envs, --num-steps, --num-minibatches, --update-epochs, --total-timesteps and "
            "--eval-interval must be >= 1"
        )
    if args.num_envs % args.num_minibatches:
        raise SystemExit(
            f"error: --num-envs ({args.num_envs}) must be divisible by --num-minibatches ({args.num_minibatches}): "
            "each minibatch holds whole environment sequences"
        )
    if not args.reconstruct:  # task loss and KL only, as the paper's text (difference 6)
        args.decode_reward = args.decode_state = False
    decoders = ("bernoulli", "mse") if args.env_id.startswith("GridWorld") else ("mse",)  # bernoulli: grid cells
    if args.reward_decoder not in decoders:
        raise SystemExit(f"error: --reward-decoder {args.reward_decoder}: {args.env_id} takes one of {decoders}")
    vae_counts = (args.vae_updates, args.precollect_frames, args.vae_subsample_elbos, args.vae_subsample_decodes)
    if min(args.vae_buffer_size, args.vae_batch_size) < 1 or min(vae_counts) < 0:
        raise SystemExit(
            "error: --vae-buffer-size and --vae-batch-size must be >= 1; --vae-updates, --precollect-frames, "
            "--vae-subsample-elbos and --vae-subsample-decodes >= 0 (0: no pre-collect, no subsampling)"
        )
    args.batch_size = int(args.num_envs * args.num_steps)
    args.minibatch_size = int(args.batch_size // args.num_minibatches)
    args.num_iterations = args.total_timesteps // args.batch_size
    if args.num_iterations < 1 and args.eval_checkpoint is None:
        raise SystemExit(
            f"error: --total-timesteps ({args.total_timesteps}) is below one rollout ({args.batch_size} frames)"
        )
    # the preset's multi-task phase is at most 5% of the run's updates (paper §3.3: "less than 5%"; difference 16)
    warmup_cap = max(1, args.num_iterations // 20)
    if not warmup_given and args.ti_warmup_updates > warmup_cap:
        print(f"multi-task phase: {warmup_cap} updates (5% of the run's), not the preset's {args.ti_warmup_updates}")
        args.ti_warmup_updates, sources["ti_warmup_updates"] = warmup_cap, "5% of the run's updates"
    run_dir = args.resume or f"runs/{args.env_id}__{args.exp_name}__{args.seed}__{int(time.time())}"
    run_name = os.path.basename(os.path.normpath(run_dir))
    print(runstate.describe(args, sources), flush=True)

    # TRY NOT TO MODIFY: seeding
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.backends.cudnn.deterministic = args.torch_deterministic
    torch.set_num_threads(args.threads)
    if args.cuda and not torch.cuda.is_available():
        print("--cuda: no CUDA device available, running on the CPU")
    device = torch.device("cuda" if torch.cuda.is_available() and args.cuda else "cpu")

    # env setup: each sub-environment runs whole meta-episodes; evaluation draws fresh tasks from its own seed
    try:
        env_kwargs = {"success_ends_episode": args.success_ends_episode}
        envs = meta_envs.make(args.env_id, args.num_envs, args.seed, workers=args.env_workers, **env_kwargs)
        env_kwargs["workers"] = min(args.env_workers, args.num_eval_tasks)
        eval_splits = {"eval": meta_envs.make(args.env_id, args.num_eval_tasks, args.seed + 100_000, **env_kwargs)}
        if args.env_id in meta_envs.METAWORLD_IDS:  # also held-out tasks, as Meta-World papers report (reference §4.6)
            test_seed = args.seed + 300_000
            eval_splits["eval_test"] = meta_envs.make(
                args.env_id, args.num_eval_tasks, test_seed, split="test", **env_kwargs
            )
    except ValueError as e:
        raise SystemExit(f"error: {e}") from None

    agent = Agent(envs, args).to(device)
    obs_rms = RunningMeanStd(envs.single_observation_space.shape)
    latent_rms = RunningMeanStd((2 * args.latent_dim,))  # the policy's latent normalisation (reference §1.6)
    normalisers = (obs_rms, latent_rms)  # what evaluate() needs besides the agent
    task_rms = RunningMeanStd((envs.task_dim,))  # g_phi's input normalisation (reference §1.6)
    if checkpoint is not None:
        runstate.load_parts(checkpoint, {"agent": agent}, f"--eval-checkpoint {args.eval_checkpoint}")
        obs_rms.load_state_dict(checkpoint["obs_rms"])
        latent_rms.load_state_dict(checkpoint["latent_rms"])
        for split, split_envs in eval_splits.items():
            results = evaluate(agent, split_envs, *normalisers, device)
            print(
                f"{args.eval_checkpoint}: {args.num_eval_tasks} fresh {args.env_id} tasks ({split}): "
                + ", ".join(f"{tag.replace('_', ' ')} {value:.2f}" for tag, value in results.items())
            )
        if args.capture_video:
            video(agent, normalisers, device, args, f"videos/{os.path.basename(args.eval_checkpoint)[:-3]}_eval.mp4")
        raise SystemExit(0)
    if args.track:
        try:
            import wandb
        except ImportError:
            raise SystemExit("error: --track needs Weights and Biases: pip install wandb") from None
        wandb.init(
            project=args.wandb_project_name,
            entity=args.wandb_entity,
            sync_tensorboard=True,
            config=vars(args),
            name=run_name,
            save_code=True,
        )
    # a resumed run drops the points its killed process logged after its state.pt (TensorBoard's purge_step)
    writer = SummaryWriter(run_dir, purge_step=state["global_step"] + 1 if state else None)
    writer.add_text(
        "hyperparameters",
        "|param|value|\n|-|-|\n" + "\n".join([f"|{key}|{value}|" for key, value in vars(args).items()]),
    )
    optimizer = optim.Adam(agent.policy_parameters(), lr=args.lr, eps=args.adam_eps, fused=True)
    # the encoder and decoders learn from the ELBO alone: --lr-vae, Adam's default eps, no clipping (reference §1.5)
    vae_optimizer = optim.Adam(agent.vae_parameters(), lr=args.lr_vae, fused=True)
    fresh_agent = Agent(envs, args).to(device)  # the meta-policy's initial values for the hard reset (reference §3.4)
    return_rms = RunningMeanStd()

    # ALGO Logic: Storage setup
    obs = torch.zeros((args.num_steps, args.num_envs) + envs.single_observation_space.shape).to(device)
    actions = torch.zeros((args.num_steps, args.num_envs) + envs.single_action_space.shape).to(device)
    logprobs = torch.zeros((args.num_steps, args.num_envs)).to(device)
    rewards = torch.zeros((args.num_steps, args.num_envs)).to(device)  # normalised, for PPO
    raw_rewards = torch.zeros((args.num_steps, args.num_envs)).to(device)  # raw, for the encoder (reference §1.6)
    dones = torch.zeros((args.num_steps, args.num_envs)).to(device)  # obs[t] starts a meta-episode
    time_limits = torch.zeros((args.num_steps, args.num_envs)).to(device)  # step t ended an episode by time limit
    values = torch.zeros((args.num_steps, args.num_envs)).to(device)
    latents = torch.zeros((args.num_steps, args.num_envs, 2 * args.latent_dim)).to(device)  # concat(mu, logvar)
    tasks = torch.zeros((args.num_steps, args.num_envs, envs.task_dim)).to(device)  # c_M of obs[t]'s meta-episode
    use_task = torch.zeros((args.num_steps, args.num_envs)).to(device)  # step t's policy input was g_phi(c_M)

    # TRY NOT TO MODIFY: start the game
    global_step = 0
    start_time = time.time()
    next_obs, infos = envs.reset(seed=args.seed)
    vae_buffer = VAEBuffer(args.vae_buffer_size, envs)
    vae_buffer.start(np.arange(args.num_envs), next_obs, infos["task"])
    next_obs = torch.Tensor(next_obs).to(device)
    next_task = torch.Tensor(infos["task"]).to(device)
    next_done = torch.ones(args.num_envs).to(device)
    updates = 0  # PPO updates so far: the multi-task phase is the first ti_warmup_updates (reference §3.4)
    discounted_return = np.zeros(args.num_envs)
    recent_returns, last_eval, last_print, env_time = deque(maxlen=args.num_envs), float("nan"), 0.0, 0.0
    # what a checkpoint holds: every object with a state_dict, and the loop's variables (saved below)
    stateful = {"agent": agent, "optimizer": optimizer, "return_rms": return_rms, "envs": envs}
    stateful |= {f"{split}_envs": split_envs for split, split_envs in eval_splits.items()}
    stateful |= {f"normaliser_{i}": normaliser for i, normaliser in enumerate(normalisers)}
    stateful |= {"vae_optimizer": vae_optimizer, "vae_buffer": vae_buffer, "task_rms": task_rms}
    if state is not None:  # --resume: every part of the run continues from its state.pt
        runstate.restore(state, stateful)
        next_obs, next_done = state["next_obs"].to(device), state["next_done"].to(device)
        discounted_return = state["discounted_return"].numpy()
        next_task, updates = state["next_task"].to(device), state["updates"]
        global_step, last_eval, env_time = state["global_step"], state["last_eval"], state["env_time"]
        recent_returns.extend(state["recent_returns"])
        start_time -= state["wall_clock"]
        print(f"resuming {run_name} after update {state['iteration']} ({global_step} frames)", flush=True)
    preempted = runstate.sigterm_flag()  # SIGTERM (a scheduler's warning): finish this update, save, exit

    for iteration in range(state["iteration"] + 1 if state else 1, args.num_iterations + 1):
        # Annealing the rate if instructed to do so.
        if args.anneal_lr:
            frac = 1.0 - (iteration - 1.0) / args.num_iterations
            optimizer.param_groups[0]["lr"] = frac * args.lr
        with torch.no_grad():  # the prior output depends on the GRU's current parameters
            encoder_prior = agent.encoder.prior(args.num_envs)[1]
            # the running meta-episodes, re-encoded by the encoder the VAE has just updated (reference §1.1)
            encoder_state = running_encoder_state(agent.encoder, vae_buffer, device)
        warmup = updates < args.ti_warmup_updates

        for step in range(0, args.num_steps):
            global_step += args.num_envs
            obs[step] = next_obs
            dones[step] = next_done
            tasks[step], use_task[step] = next_task, float(warmup)

            # ALGO LOGIC: action logic
            with torch.no_grad():
                encoder_output = torch.where(next_done.bool().unsqueeze(-1), encoder_prior, encoder_state)
                latents[step] = agent.encoder.head(encoder_output)
                action, logprob, _, value = agent.get_action_and_value(
                    latent_rms.normalize(latents[step]),
                    obs_rms.normalize(next_obs),
                    task=task_rms.normalize(next_task),
                    use_task=use_task[step],
                )
                values[step] = value.flatten()
            actions[step] = action
            logprobs[step] = logprob

            # TRY NOT TO MODIFY: execute the game and log data.
            env_start = time.time()
            next_obs, reward, terminations, truncations, infos = envs.step(action.cpu().numpy())
            env_time += time.time() - env_start
            next_done = np.logical_or(terminations, truncations)
            final_obs = infos.get("final_obs", next_obs)
            vae_buffer.step(action.cpu().numpy(), reward, next_obs, next_done, final_obs, infos["task"])
            # PPO sees rewards scaled by the running std of the discounted return, clipped (reference §1.6)
            scaled, discounted_return = scale_rewards(reward, discounted_return, next_done, return_rms, args)
            rewards[step] = torch.tensor(scaled).to(device)
            raw_rewards[step] = torch.tensor(reward).to(device)
            if args.proper_time_limits:
                time_limits[step] = torch.tensor(infos["inner_time_limit"], dtype=torch.float32).to(device)
            next_obs, next_done = torch.Tensor(next_obs).to(device), torch.Tensor(next_done).to(device)
            next_task = torch.Tensor(infos["task"]).to(device)
            with torch.no_grad():  # the encoder consumes (a, r, s'); its state resets after a meta-episode ends
                x = agent.encoder.embed(action.float(), raw_rewards[step], next_obs)
                encoder_state = agent.encoder.gru(x, encoder_state) * (1.0 - next_done).unsqueeze(-1)

            if "_meta_episode" in infos:
                for i in np.flatnonzero(infos["_meta_episode"]):
                    recent_returns.append(infos["meta_episode_return"][i])
                    writer.add_scalar("charts/meta_episode_return", infos["meta_episode_return"][i], global_step)
                    for k, r in enumerate(infos["episode_returns"][i]):
                        writer.add_scalar(f"charts/episode_{k + 1}_return", r, global_step)

        if global_step < args.precollect_frames:  # pre-collect: no update yet; these frames count (reference §1.1)
            continue

        # bootstrap value if not done
        with torch.no_grad():
            encoder_output = torch.where(next_done.bool().unsqueeze(-1), encoder_prior, encoder_state)
            latent = latent_rms.normalize(agent.encoder.head(encoder_output))
            task_input = task_rms.normalize(next_task)  # the rollout's policy input, g_phi(c_M) or the latent
            next_value = agent.get_value(latent, obs_rms.normalize(next_obs), task_input, use_task[-1]).reshape(1, -1)
            advantages, returns = gae(rewards, values, dones, time_limits, next_value, next_done, args)

        # Optimizing the policy and value network
        assert args.num_envs % args.num_minibatches == 0
        envsperbatch = args.num_envs // args.num_minibatches
        envinds = np.arange(args.num_envs)
        clipfracs = []
        for _epoch in range(args.update_epochs):
            np.random.shuffle(envinds)
            for start in range(0, args.num_envs, envsperbatch):
                mbenvinds = envinds[start : start + envsperbatch]
                mb_inds = (slice(None), mbenvinds)
                # the rollout's latents: PPO never reaches the encoder (reference §3.6)
                _, newlogprob, entropy, newvalue = agent.get_action_and_value(
                    latent_rms.normalize(latents[mb_inds].flatten(0, 1)),
                    obs_rms.normalize(obs[mb_inds].flatten(0, 1)),
                    actions[mb_inds].flatten(0, 1).long() if agent.discrete else actions[mb_inds].flatten(0, 1),
                    task=task_rms.normalize(tasks[mb_inds].flatten(0, 1)),
                    use_task=use_task[mb_inds].flatten(0, 1),
                )
                mb_logprobs, mb_advantages = logprobs[mb_inds].flatten(), advantages[mb_inds].flatten()
                mb_returns, mb_values = returns[mb_inds].flatten(), values[mb_inds].flatten()
                loss, pg_loss, v_loss, entropy_loss, old_approx_kl, approx_kl, clipfrac = ppo_loss(
                    newlogprob, entropy, newvalue, mb_logprobs, mb_advantages, mb_returns, mb_values, args
                )
                clipfracs.append(clipfrac)
                if not torch.isfinite(loss):
                    raise SystemExit(f"error: non-finite loss at iteration {iteration}; try a lower --lr")

                optimizer.zero_grad()
                loss.backward()
                clip_gradients(agent, args)
                optimizer.step()

        # VAE: vae_updates ELBO steps on buffered meta-episodes after each PPO update (reference §1.4 item 6, §2.5)
        vae_stats = []
        updates += 1
        # TI: the VAE is frozen during the multi-task phase; its meta-episodes still enter the buffer (reference §3.4)
        for _ in range(args.vae_updates if vae_buffer.count and not warmup else 0):
            b_obs, b_actions, b_rewards, b_lengths, b_tasks = vae_buffer.sample(args.vae_batch_size, device)
            # TI's task inference: predict the stop-gradient g_phi(c_M), coefficient 1 (reference §3.4)
            task_target = agent.task_target(task_rms.normalize(b_tasks))
            vae_loss, reconstruction, kl, task = vae_losses(
                agent, b_obs, b_actions, b_rewards, b_lengths, args, task_target
            )
            if not torch.isfinite(vae_loss):
                raise SystemExit(f"error: non-finite VAE loss at iteration {iteration}; try a lower --lr-vae")
            vae_optimizer.zero_grad()
            vae_loss.backward()
            vae_optimizer.step()
            vae_stats.append({"reconstruction": reconstruction.item(), "kl": kl.item(), "task": task.item()})

        # the policy's input statistics change between rollouts, never inside one (difference 9)
        if warmup and updates == args.ti_warmup_updates:  # the multi-task phase ends
            reset_policy(agent, fresh_agent)
        obs_rms.update(obs.flatten(0, 1).cpu().numpy())
        latent_rms.update(latents.flatten(0, 1).cpu().numpy())
        if use_task.any():  # c_M's statistics only while g_phi is in use: its target stays fixed afterwards
            task_rms.update(tasks[use_task.bool()].cpu().numpy())

        y_pred, y_true = values.flatten().cpu().numpy(), returns.flatten().cpu().numpy()
        var_y = np.var(y_true)
        explained_var = np.nan if var_y == 0 else 1 - np.var(y_true - y_pred) / var_y

        # TRY NOT TO MODIFY: record rewards for plotting purposes
        sps = int(global_step / (time.time() - start_time))
        writer.add_scalar("charts/learning_rate", optimizer.param_groups[0]["lr"], global_step)
        writer.add_scalar("losses/value_loss", v_loss.item(), global_step)
        writer.add_scalar("losses/policy_loss", pg_loss.item(), global_step)
        writer.add_scalar("losses/entropy", entropy_loss.item(), global_step)
        writer.add_scalar("losses/old_approx_kl", old_approx_kl.item(), global_step)
        writer.add_scalar("losses/approx_kl", approx_kl.item(), global_step)
        writer.add_scalar("losses/clipfrac", np.mean(clipfracs), global_step)
        writer.add_scalar("losses/explained_variance", explained_var, global_step)
        for key in vae_stats[0] if vae_stats else ():
            writer.add_scalar(f"losses/{key}", np.mean([stats[key] for stats in vae_stats]), global_step)
        writer.add_scalar("charts/SPS", sps, global_step)
        writer.add_scalar("charts/env_time_fraction", env_time / (time.time() - start_time), global_step)

        if iteration % args.eval_interval == 0 or iteration == args.num_iterations:
            for split, split_envs in eval_splits.items():  # eval/: training tasks; eval_test/: held-out ones
                results = evaluate(agent, split_envs, *normalisers, device)
                for tag, value in results.items():
                    writer.add_scalar(f"{split}/{tag}", value, global_step)
                last_eval = results["meta_episode_return"] if split == "eval" else last_eval
        if time.time() - last_print > 5 or iteration == args.num_iterations:
            last_print = time.time()
            train = np.mean(recent_returns) if recent_returns else float("nan")
            print(
                f"iter {iteration}/{args.num_iterations}  frames {global_step}  SPS {sps}  "
                f"meta-episode return: train {train:.2f}  eval {last_eval:.2f}",
                flush=True,
            )
        if preempted or args.checkpoint_interval and iteration % args.checkpoint_interval == 0:
            writer.flush()  # the points logged up to this update are on disk before the state that follows them
            loop = {"global_step": global_step, "next_obs": next_obs, "next_done": next_done, "env_time": env_time}
            loop |= {"discounted_return": torch.from_numpy(discounted_return), "last_eval": float(last_eval)}
            loop |= {"recent_returns": [float(r) for r in recent_returns], "wall_clock": time.time() - start_time}
            loop |= {"next_task": next_task, "updates": updates}
            runstate.checkpoint(run_dir, os.path.basename(__file__), args, iteration, stateful, loop, preempted)

    if args.save_model:
        model_path = f"{run_dir}/{args.exp_name}.pt"
        checkpoint = {"agent": agent.state_dict(), "obs_rms": obs_rms.state_dict(), "args": vars(args)}
        checkpoint["latent_rms"] = latent_rms.state_dict()
        torch.save(checkpoint, model_path)
        print(f"model saved to {model_path}")
    if args.capture_video:
        video(agent, normalisers, device, args, f"videos/{run_name}/eval.mp4")

    envs.close()
    writer.close()
