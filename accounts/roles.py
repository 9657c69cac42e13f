"""The roles as API views name them in ``action_roles`` (the permission matrix of SPEC.md).

Plain strings, the values of :class:`accounts.models.Role`, so a view's table reads
``{"list": ALL_ROLES, "approve": frozenset({BUREAU})}``. ``core.api_permissions`` checks the
caller against the table through ``User.api_role`` and knows nothing of these names.
"""

from __future__ import annotations

from accounts.models import Role

PROVINCIAL = Role.PROVINCIAL.value
BUREAU = Role.BUREAU.value
INSTITUTION = Role.INSTITUTION.value
EVALUATOR = Role.EVALUATOR.value
TRAINEE = Role.TRAINEE.value
ALL_ROLES = frozenset({PROVINCIAL, BUREAU, INSTITUTION, EVALUATOR, TRAINEE})
AUTHORITIES = frozenset({PROVINCIAL, BUREAU})
