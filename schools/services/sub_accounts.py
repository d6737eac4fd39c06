"""The holder's sub-accounts (SPEC section 6): creating one (pending, its account-created
mail, its stations) and choosing its stations."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from accounts.models import Account, SecurityEvent
from accounts.profile import Profile, normalize_profile, validate_profile
from accounts.security_log import security_event
from accounts.services.new_accounts import create_pending_account, validate_new_local_part
from schools.models import Unit
from stations.models import Station, StationGrant
from stations.services import grant_station, revoke_station

Kind = SecurityEvent.Kind


def create_sub_account(
    *,
    unit: Unit,
    local_part: str,
    profile: Profile,
    stations=(),
    actor,
    request=None,
    checked=False,
    origin=None,
):
    """A pending sub-account of the unit with its account-created mail and station grants.

    ``checked``: the caller (the CSV import) has already validated the name and profile
    against the unit in bulk; the database's unique constraint still guards the name.
    ``origin``: where the request came from, for work done in a task (the CSV import).
    """
    profile = normalize_profile(profile)
    if not checked:
        local_part, problems = validate_new_local_part(
            unit=unit, local_part=local_part, person=profile
        )
        errors = validate_profile(profile)
        if problems:
            errors["local_part"] = problems
        if errors:
            raise ValidationError(errors)
    try:
        with transaction.atomic():
            account = create_pending_account(
                unit=unit,
                local_part=local_part,
                role=Account.Role.SUB,
                profile=profile,
                actor=actor,
                request=request,
                origin=origin,
            )
            # A new account has no grants yet: add them in two statements, not one per station.
            stations = list(stations)
            StationGrant.objects.bulk_create(
                StationGrant(account=account, station=station, granted_by=actor)
                for station in stations
            )
            SecurityEvent.objects.bulk_create(
                security_event(
                    Kind.STATION_GRANTED,
                    account,
                    actor,
                    request,
                    {"station": station.slug},
                    origin=origin,
                )
                for station in stations
            )
    except IntegrityError as error:  # the same name created at the same moment
        raise ValidationError({"local_part": [_("這個帳號剛剛已被建立，請換一個。")]}) from error
    return account


def set_stations(*, account: Account, stations, among, actor, request=None) -> None:
    """Grant exactly ``stations`` out of ``among`` (the stations the actor was shown),
    revoking the others of ``among``; grants outside it are left alone."""
    shown = {station.pk for station in among}
    wanted = {station.pk for station in stations} & shown
    current = set(account.station_grants.values_list("station_id", flat=True)) & shown
    with transaction.atomic():
        for station in Station.objects.filter(pk__in=wanted - current):
            grant_station(account=account, station=station, actor=actor, request=request)
        for station in Station.objects.filter(pk__in=current - wanted):
            revoke_station(account=account, station=station, actor=actor, request=request)
