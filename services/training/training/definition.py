"""The training service, as the kit sees it. Its domain (curriculum, sessions, enrolments) is built
on this skeleton by the registry-and-training issue."""

from __future__ import annotations

from servicekit.service import ServiceDefinition

from training.settings import TrainingSettings

TRAINING = ServiceDefinition(
    name="training",
    title="IP talent training",
    description="Courses, sessions, enrolments, attendance, assessment and certificates.",
    settings_factory=TrainingSettings,
)
