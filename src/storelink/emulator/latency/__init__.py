"""Latency models measured from real Odoo servers, one ``<series>.json`` each.

Written by ``storelink odoo measure-latency`` (see :mod:`storelink.odoo.latency`);
read by the emulator when asked to answer as slowly as a real Odoo.
"""
