"""Training bases: the organisations (mostly universities) that host courses and sessions.

A base is identified by its Unified Social Credit Code (GB 32100-2015), the same id the registry
gives the organisation. A coordinator works for one base, named by the `org` claim of the token;
officers and admins act for every base. Pure rules, no I/O.

Visibility rule used by every training route: the curriculum (courses, sessions) is public, so a
coordinator of another base who tries to change it gets 403 (hiding what anyone can read would be
pointless); enrolments are private, so someone who may not see one gets 404, as if it did not exist.
"""

from __future__ import annotations

from servicekit.auth import Principal, Role
from servicekit.problems import ProblemError

# GB 32100-2015: 31 characters, leaving out I, O, Z, S and V, which are easy to misread.
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
# For the OpenAPI: 18 characters of the alphabet (the check character's value is beyond a pattern).
USCC_PATTERN = r"^[0-9A-HJ-NPQRTUWXY]{18}$"


def validate_credit_code(code: str) -> str:
    """The code upper-cased, if it is a well-formed credit code with a correct check character."""
    code = code.strip().upper()
    if len(code) != 18 or any(c not in USCC_ALPHABET for c in code):
        raise ValueError("a Unified Social Credit Code has 18 characters from 0-9 and A-Y without I, O, S, V, Z")
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(code[:17], USCC_WEIGHTS, strict=True))
    expected = USCC_ALPHABET[(31 - total % 31) % 31]
    if code[17] != expected:
        raise ValueError(f"check character is {code[17]!r} but should be {expected!r}")
    return code


def acts_across_bases(principal: Principal) -> bool:
    """Officers and admins run the programme province-wide."""
    return principal.has_any([Role.OFFICER])


def manages_base(principal: Principal, base_id: str) -> bool:
    """May this caller change the courses and sessions of `base_id`?"""
    if acts_across_bases(principal):
        return True
    return Role.COORDINATOR in principal.roles and principal.organisation_id == base_id


def require_base(principal: Principal, base_id: str, what: str) -> None:
    """403 unless the caller manages `base_id` (for public resources: see the module's docstring)."""
    if not manages_base(principal, base_id):
        raise ProblemError(403, "Forbidden",
                           f"Only coordinators of training base {base_id} (or officers) may change this {what}.",
                           kind="other-training-base")


def base_of_new_course(principal: Principal, requested: str | None) -> str:
    """The base a new course belongs to: a coordinator's own base; officers must name one."""
    if acts_across_bases(principal):
        if requested is None:
            raise ProblemError(422, "Invalid request", "training_base_id: officers must name the training base",
                               kind="validation",
                               errors=[{"pointer": "#/training_base_id", "detail": "required for officers"}])
        return requested
    if principal.organisation_id is None:
        raise ProblemError(403, "Forbidden", "Your token names no training base (claim `org`).",
                           kind="no-training-base")
    if requested is not None and requested != principal.organisation_id:
        raise ProblemError(403, "Forbidden",
                           f"You coordinate training base {principal.organisation_id}, not {requested}.",
                           kind="other-training-base")
    return principal.organisation_id
