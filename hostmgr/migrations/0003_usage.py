from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('hostmgr', '0002_instance_lock')]

    initial = False

    operations = [
        ops.CreateModel(
            name='InstanceUsage',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('instance', fields.ForeignKeyField('hostmgr.Instance', source_field='instance_id', db_constraint=True, to_field='id', related_name='usage', on_delete=OnDelete.CASCADE)),
                ('period', fields.CharField(description='``YYYY-MM``.', max_length=7)),
                ('rx_bytes', fields.BigIntField(default=0)),
                ('tx_bytes', fields.BigIntField(default=0)),
                ('disk_bytes', fields.BigIntField(default=0, description='The latest measurement of the data volume, not a sum.')),
                ('disk_measured_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'instance_usage', 'app': 'hostmgr', 'unique_together': (('instance', 'period'),), 'pk_attr': 'id', 'table_description': 'Traffic and disk use of one instance in one calendar month (UTC).'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Instance',
            name='net_counter_key',
            field=fields.BigIntField(default=0),
        ),
        ops.AddField(
            model_name='Instance',
            name='net_rx_seen',
            field=fields.BigIntField(default=0),
        ),
        ops.AddField(
            model_name='Instance',
            name='net_tx_seen',
            field=fields.BigIntField(default=0),
        ),
    ]
