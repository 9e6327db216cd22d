"""Studies: study files, planning, the local resumable runner and the Slurm export."""
