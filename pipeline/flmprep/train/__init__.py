"""The slim trainer: streaming shard loader, landmark models, losses, metrics, DDP loop, checkpoints.

Entry points: ``flmprep train`` / ``flmprep evaluate`` and ``torchrun -m flmprep.train``.
Only this subpackage imports torch.
"""
