"""The public credential check: anyone (an employer, the public) verifies a registration number or a
certificate number without a token, and sees only public fields and whether it is valid."""

from __future__ import annotations

from fastapi import APIRouter
from servicekit.routing import Context

from registry.credentials import service
from registry.credentials.models import CertificateCheck, TalentCheck

router = APIRouter(prefix="/v1/public", tags=["public credential check"])


@router.get("/talents/{registration_number}", response_model=TalentCheck)
async def check_registration(registration_number: str, ctx: Context) -> TalentCheck:
    """A talent's public record and whether it is valid (the holder is active)."""
    return await service.check_registration(ctx, registration_number)


@router.get("/certificates/{certificate_number}", response_model=CertificateCheck)
async def check_certificate(certificate_number: str, ctx: Context) -> CertificateCheck:
    """A registry certification certificate or a training completion certificate, and whether it is valid."""
    return await service.check_certificate(ctx, certificate_number)
