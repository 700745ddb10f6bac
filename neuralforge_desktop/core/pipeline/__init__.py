"""Deployment pipelines: a YAML file of stages (train → validate → optimise → export → package → register →
serve) run in order, each with inputs, outputs and pass conditions, recorded stage by stage in the store, and
resumed from the failed stage. Headless: no Qt; torch only inside the stages that need it."""

from neuralforge_desktop.core.pipeline.kinds import KINDS, STAGE_KINDS
from neuralforge_desktop.core.pipeline.runner import pipelines_root, run_pipeline
from neuralforge_desktop.core.pipeline.spec import PipelineFileError, PipelineSpec, StageSpec, load_pipeline

__all__ = ["KINDS", "STAGE_KINDS", "PipelineFileError", "PipelineSpec", "StageSpec", "load_pipeline",
           "pipelines_root", "run_pipeline"]
