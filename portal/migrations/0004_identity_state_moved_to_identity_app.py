"""The identity models moved to the identity app: state only; their tables stay as they are."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('portal', '0003_merge_mcp_signin'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name='auditevent',
                    name='actor',
                ),
                migrations.RemoveField(
                    model_name='usergroups',
                    name='user',
                ),
                migrations.DeleteModel(
                    name='AccessToken',
                ),
                migrations.DeleteModel(
                    name='AuditEvent',
                ),
                migrations.DeleteModel(
                    name='UserGroups',
                ),
            ],
            database_operations=[],
        ),
    ]
