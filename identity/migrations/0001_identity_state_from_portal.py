"""The identity models, moved here from the portal app: state only; the tables (``db_table``) were
created by portal 0001-0003 and stay as they are."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('portal', '0004_identity_state_moved_to_identity_app'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='AccessToken',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(max_length=100)),
                        ('persona', models.CharField(max_length=20)),
                        ('hub', models.CharField(blank=True, max_length=100)),
                        ('token_hash', models.CharField(max_length=64, unique=True)),
                        ('prefix', models.CharField(max_length=12)),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('expires_at', models.DateTimeField()),
                        ('last_used_at', models.DateTimeField(blank=True, null=True)),
                        ('last_used_ip', models.GenericIPAddressField(blank=True, null=True)),
                        ('revoked_at', models.DateTimeField(blank=True, null=True)),
                        ('scopes', models.JSONField(blank=True, default=list)),
                        ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='access_tokens', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'portal_accesstoken',
                        'ordering': ['-created_at'],
                    },
                ),
                migrations.CreateModel(
                    name='AuditEvent',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('username', models.CharField(blank=True, db_index=True, max_length=150)),
                        ('role', models.CharField(blank=True, max_length=150)),
                        ('action', models.CharField(db_index=True, max_length=100)),
                        ('target', models.CharField(blank=True, max_length=500)),
                        ('details', models.JSONField(blank=True, default=dict)),
                        ('ip', models.GenericIPAddressField(blank=True, null=True)),
                        ('created_at', models.DateTimeField(db_index=True, default=django.utils.timezone.now)),
                        ('actor', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'portal_auditevent',
                        'ordering': ['-created_at', '-id'],
                    },
                ),
                migrations.CreateModel(
                    name='UserGroups',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('source', models.CharField(choices=[('sso', 'SSO'), ('local', 'Local account')], max_length=20)),
                        ('provider', models.CharField(blank=True, help_text='allauth provider id for SSO users', max_length=50)),
                        ('groups', models.JSONField(default=list)),
                        ('refreshed_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('grants_version', models.PositiveIntegerField(default=0)),
                        ('sessions_epoch', models.PositiveIntegerField(default=0)),
                        ('user', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='portal_groups', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'portal_usergroups',
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
