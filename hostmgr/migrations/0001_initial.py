from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from hostmgr.models import InstanceStatus, Role
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='Package',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(unique=True, max_length=100)),
                ('cpu_cores', fields.FloatField()),
                ('ram_gb', fields.FloatField()),
                ('disk_gb', fields.IntField()),
                ('active', fields.BooleanField(default=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'packages', 'app': 'hostmgr', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='User',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=255)),
                ('username', fields.CharField(unique=True, max_length=64)),
                ('email', fields.CharField(unique=True, max_length=254)),
                ('password_hash', fields.CharField(max_length=255)),
                ('role', fields.CharEnumField(default=Role.USER, description='ADMIN: admin\nRESELLER: reseller\nUSER: user', enum_type=Role, max_length=16)),
                ('reseller', fields.ForeignKeyField('hostmgr.User', source_field='reseller_id', null=True, db_constraint=True, to_field='id', related_name='customers', on_delete=OnDelete.RESTRICT)),
                ('suspended', fields.BooleanField(default=False)),
                ('instance_limit', fields.IntField(null=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'users', 'app': 'hostmgr', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ApiToken',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('hostmgr.User', source_field='user_id', db_constraint=True, to_field='id', related_name='tokens', on_delete=OnDelete.CASCADE)),
                ('name', fields.CharField(max_length=100)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('prefix', fields.CharField(max_length=16)),
                ('allowed_ips', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('expires_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'api_tokens', 'app': 'hostmgr', 'pk_attr': 'id', 'table_description': 'A bearer token. Only its SHA-256 is stored, the token is shown once.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='AuditEntry',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('hostmgr.User', source_field='user_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('token', fields.ForeignKeyField('hostmgr.ApiToken', source_field='token_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('method', fields.CharField(max_length=10)),
                ('path', fields.CharField(max_length=2048)),
                ('ip', fields.CharField(max_length=45)),
                ('status', fields.SmallIntField()),
                ('duration_ms', fields.FloatField()),
                ('details', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'audit_entries', 'app': 'hostmgr', 'pk_attr': 'id', 'table_description': 'One integration API call: who, what, from where, and how it ended.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Instance',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(unique=True, max_length=63)),
                ('domain', fields.CharField(unique=True, max_length=253)),
                ('user', fields.ForeignKeyField('hostmgr.User', source_field='user_id', db_constraint=True, to_field='id', related_name='instances', on_delete=OnDelete.RESTRICT)),
                ('package', fields.ForeignKeyField('hostmgr.Package', source_field='package_id', db_constraint=True, to_field='id', related_name='instances', on_delete=OnDelete.RESTRICT)),
                ('version', fields.CharField(default='latest', max_length=64)),
                ('status', fields.CharEnumField(default=InstanceStatus.CREATING, description='CREATING: creating\nRUNNING: running\nSTOPPED: stopped\nSUSPENDED: suspended\nERROR: error', enum_type=InstanceStatus, max_length=16)),
                ('suspended', fields.BooleanField(default=False)),
                ('suspend_reason', fields.CharField(null=True, max_length=255)),
                ('port', fields.IntField(null=True, unique=True)),
                ('container_id', fields.CharField(null=True, max_length=128)),
                ('encryption_key', fields.TextField(unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'instances', 'app': 'hostmgr', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PanelSession',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('key_hash', fields.CharField(unique=True, max_length=64)),
                ('user', fields.ForeignKeyField('hostmgr.User', source_field='user_id', db_constraint=True, to_field='id', related_name='sessions', on_delete=OnDelete.CASCADE)),
                ('expires_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'panel_sessions', 'app': 'hostmgr', 'pk_attr': 'id', 'table_description': 'A web panel session. The cookie holds a random key, only its hash is kept.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SsoRedemption',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('jti', fields.CharField(unique=True, max_length=64)),
                ('user', fields.ForeignKeyField('hostmgr.User', source_field='user_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('expires_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('used_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'sso_redemptions', 'app': 'hostmgr', 'pk_attr': 'id', 'table_description': 'A used SSO link. The unique ``jti`` makes every link work once.'},
            bases=['Model'],
        ),
    ]
