from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('hostmgr', '0003_usage')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Lease',
            fields=[
                ('name', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=100)),
                ('holder', fields.CharField(max_length=64)),
                ('until', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'leases', 'app': 'hostmgr', 'pk_attr': 'name', 'table_description': 'A named lease: until ``until`` passes, only ``holder`` does that work.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='OutboxMessage',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('sink', fields.CharField(max_length=64)),
                ('event', fields.CharField(max_length=100)),
                ('subject', fields.CharField(max_length=255)),
                ('payload', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('key', fields.CharField(null=True, max_length=255)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('attempts', fields.IntField(default=0)),
                ('next_attempt_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('delivered_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('failed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_error', fields.TextField(null=True, unique=False)),
            ],
            options={'table': 'outbox_messages', 'app': 'hostmgr', 'unique_together': (('sink', 'key'),), 'indexes': [Index(fields=['sink', 'delivered_at', 'failed_at'])], 'pk_attr': 'id', 'table_description': 'An event held for one sink until its receiver takes it, sent in id order.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='DeliveryAttempt',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('message', fields.ForeignKeyField('hostmgr.OutboxMessage', source_field='message_id', db_constraint=True, to_field='id', related_name='attempt_log', on_delete=OnDelete.CASCADE)),
                ('sink', fields.CharField(max_length=64)),
                ('attempted_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('ok', fields.BooleanField()),
                ('action', fields.CharField(default='', max_length=255)),
                ('http_status', fields.SmallIntField(null=True)),
                ('error', fields.TextField(null=True, unique=False)),
                ('duration_ms', fields.FloatField()),
            ],
            options={'table': 'outbox_delivery_log', 'app': 'hostmgr', 'pk_attr': 'id', 'table_description': 'One attempt to deliver an outbox message, and how it ended.'},
            bases=['Model'],
        ),
    ]
