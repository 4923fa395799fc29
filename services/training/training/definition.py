"""The training service, as the kit sees it: curriculum (courses, sessions), enrolments with waitlists,
attendance, assessment and certificates, and its projection of the registry's talents."""

from __future__ import annotations

from servicekit.consumer import EventHandlers
from servicekit.service import ServiceDefinition

from training import background
from training.courses import routes as course_routes
from training.courses import store as course_store
from training.enrolments import routes as enrolment_routes
from training.enrolments import service as enrolment_service
from training.sessions import routes as session_routes
from training.sessions import store as session_store
from training.settings import TrainingSettings
from training.talents import projection as talent_projection
from training.talents import routes as talent_routes

handlers = EventHandlers()
talent_projection.register_handlers(handlers)

TRAINING = ServiceDefinition(
    name="training",
    title="IP talent training",
    description="Courses, sessions, enrolments, attendance, assessment and certificates.",
    settings_factory=TrainingSettings,
    routers=[course_routes.router, session_routes.router, enrolment_routes.router, talent_routes.router],
    indexes=(*course_store.INDEXES, *session_store.INDEXES, *enrolment_service.INDEXES,
             *talent_projection.INDEXES),
    outbox_collections=[session_store.COLLECTION],
    handlers=handlers,
    background_tasks=[background.REMOVAL_FOLLOW_UPS, background.DOMAIN_GAUGES],
    # `python -m training recount-tallies` (a bulk job) repairs the gauges' tallies from the sessions.
    tallied_aggregates=[session_store.AGGREGATE],
)
