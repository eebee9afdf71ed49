"""The audit trail is append-only: through the model API, and on PostgreSQL in the database."""
import pytest
from django.db import DatabaseError, connection, transaction

from ram.models import AuditEvent


@pytest.fixture
def event(account):
    return AuditEvent.objects.get(action="CreateAccount", target=account.alias)


def test_an_event_cannot_be_changed_or_deleted_through_the_model(event):
    event.action = "Tampered"
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    with pytest.raises(PermissionError):
        AuditEvent.objects.filter(pk=event.pk).update(action="Tampered")
    with pytest.raises(PermissionError):
        AuditEvent.objects.filter(pk=event.pk).delete()
    with pytest.raises(PermissionError):  # the base manager, which the ORM's internals use, too
        AuditEvent._base_manager.filter(pk=event.pk).update(action="Tampered")
    assert AuditEvent.objects.get(pk=event.pk).action == "CreateAccount"


@pytest.mark.postgres
def test_postgres_refuses_update_and_delete_of_events_in_raw_sql(event):
    for sql in ("UPDATE ram_auditevent SET action = 'Tampered'", "DELETE FROM ram_auditevent"):
        with pytest.raises(DatabaseError, match="append-only"):
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(sql)
    assert AuditEvent.objects.get(pk=event.pk).action == "CreateAccount"
