from django.db import migrations

DEFAULTS = {
    "disqualification": [
        "False or incomplete data",
        "Fewer conversions than the definition asks",
        "Duplicate of a lead already in another stage",
        "Wrong profile",
        "Other",
    ],
    "rejection": [
        "Not a fit for our offer",
        "No budget",
        "No response after the agreed attempts",
        "Already a customer or in a deal",
        "Wrong or missing contact data",
        "Other",
    ],
    "loss": [
        "Price",
        "Chose a competitor",
        "No decision",
        "Timing",
        "Missing feature",
        "Other",
    ],
}


def add_defaults(apps, schema_editor):
    Reason = apps.get_model("leads", "Reason")
    for kind, labels in DEFAULTS.items():
        for position, label in enumerate(labels, start=1):
            Reason.objects.get_or_create(kind=kind, label=label, defaults={"position": position * 10})


class Migration(migrations.Migration):
    dependencies = [("leads", "0004_reason")]
    operations = [migrations.RunPython(add_defaults, migrations.RunPython.noop)]
