"""HTTP shapes of demands: Create / Read, unknown fields refused."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from servicekit.schemas import RequestModel

from trading.demands.domain import DemandStatus
from trading.fields import MULTI_LINE_PATTERN, SINGLE_LINE_PATTERN, Name, clean_line, clean_text
from trading.listings.domain import DealType
from trading.listings.models import DealTypes, RegionCode
from trading.patents.identifiers import IPC_PREFIX_PATTERN, normalise_ipc_prefix

IpcPrefix = Annotated[str, Field(examples=["H01M", "H01M 10/0525"], json_schema_extra={"pattern": IPC_PREFIX_PATTERN}),
                      AfterValidator(normalise_ipc_prefix)]
Keyword = Annotated[str, Field(min_length=1, max_length=50, json_schema_extra={"pattern": SINGLE_LINE_PATTERN}),
                    AfterValidator(clean_line)]
Description = Annotated[str, Field(max_length=5000, json_schema_extra={"pattern": MULTI_LINE_PATTERN}),
                        AfterValidator(clean_text)]


class DemandCreate(RequestModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: Name
    description: Description = ""
    ipc_codes: Annotated[list[IpcPrefix], Field(max_length=20,
                                                description="IPC codes or prefixes of the technology wanted")] = []
    keywords: Annotated[list[Keyword], Field(max_length=20)] = []
    region_code: RegionCode | None = Field(default=None, description="Where the patent should come from, if it "
                                                                     "matters")
    deal_types: DealTypes | None = Field(default=None, description="Acceptable deal types; null = any")
    budget_max_fen: Annotated[int, Field(ge=0, le=10 ** 14)] | None = Field(default=None,
                                                                          description="Upper budget in fen")


class DemandRead(BaseModel):
    id: str
    organisation_id: str
    title: str
    description: str
    ipc_codes: list[str]
    keywords: list[str]
    region_code: str | None
    deal_types: list[DealType] | None
    budget_max_fen: int | None
    status: DemandStatus
    version: int
    posted_at: datetime
    updated_at: datetime


class DemandPage(BaseModel):
    items: list[DemandRead]
    next_cursor: str | None
