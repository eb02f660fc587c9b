"""Storage of the service: tables, engine set-up, migrations, the repository and leasing."""
