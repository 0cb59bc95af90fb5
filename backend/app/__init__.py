"""The front ends: one orchestration of jobs, used by the CLI, the demo and the HTTP service."""
