"""A simulated retail estate (stores, tills, channels, partners, flaky links) and Odoo emulator."""
