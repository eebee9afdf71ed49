"""The OpenAPI's replay guard: signature nonces shared by every server instance."""
from django.db import migrations, models


class Migration(migrations.Migration):
    # After the console's 0003_mfa_device (not only 0002): two migrations on 0002 would leave
    # the graph with two leaves, and `migrate` refuses to run until a merge migration exists.
    dependencies = [
        ("ram", "0003_mfa_device"),
    ]

    operations = [
        migrations.CreateModel(
            name="SignatureNonce",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("digest", models.CharField(help_text="SHA-256 of the AccessKey ID and the nonce.", max_length=64,
                                            unique=True)),
                ("expires_at", models.DateTimeField(db_index=True)),
            ],
            options={
                "verbose_name": "signature nonce",
            },
        ),
    ]
