"""HTTP shapes of courses: separate Create / Update / Read models, unknown fields refused."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from servicekit.schemas import RequestModel

from training.bases import USCC_PATTERN, validate_credit_code
from training.courses.domain import Audience
from training.enrolments.domain import DEFAULT_PASS_MARK
from training.talents.domain import TalentCategory

CreditCode = Annotated[str, Field(examples=["91210100MA0QTEXT09"], json_schema_extra={"pattern": USCC_PATTERN}),
                       AfterValidator(validate_credit_code)]
Title = Annotated[str, Field(min_length=2, max_length=200)]
Hours = Annotated[Decimal, Field(gt=0, le=500, max_digits=5, decimal_places=1, examples=["16.5"])]
CourseId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


class Module(RequestModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: Title
    hours: Hours


class CourseCreate(RequestModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: Title
    audience: Audience
    credit_hours: Hours = Field(description="Continuing-education credit hours a completion earns")
    modules: list[Module] = Field(default_factory=list, max_length=50)
    training_base_id: CreditCode | None = Field(
        default=None, description="Credit code of the hosting base; a coordinator's own base when omitted")
    prerequisites: list[CourseId] = Field(default_factory=list, max_length=20,
                                          description="Courses a talent must have completed first")
    categories: list[TalentCategory] = Field(default_factory=list,
                                             description="Talent categories the course counts toward")
    pass_mark: int = Field(default=DEFAULT_PASS_MARK, ge=0, le=100,
                           description="Lowest assessment score that completes the course")
    description: str | None = Field(default=None, max_length=4000)


class CourseUpdate(RequestModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: Title | None = None
    audience: Audience | None = None
    credit_hours: Hours | None = None
    modules: list[Module] | None = Field(default=None, max_length=50)
    prerequisites: list[CourseId] | None = Field(default=None, max_length=20)
    categories: list[TalentCategory] | None = None
    pass_mark: int | None = Field(default=None, ge=0, le=100)
    description: str | None = Field(default=None, max_length=4000)


class CourseRead(BaseModel):
    id: str
    title: str
    audience: Audience
    credit_hours: Decimal
    modules: list[Module]
    training_base_id: str
    prerequisites: list[str]
    categories: list[TalentCategory]
    pass_mark: int
    description: str | None
    version: int
    created_at: datetime
    updated_at: datetime


class CoursePage(BaseModel):
    items: list[CourseRead]
    next_cursor: str | None
