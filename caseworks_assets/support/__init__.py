"""Case ``support``: monthly deltas of customer support interactions.

Inputs: an initial extract and monthly deltas of agents, contact centers,
service categories and interactions (see :mod:`.layout`). Each month is a
partition of ``support_months`` whose state builds on the previous month's;
the latest applied month is published to the warehouse (schema ``support``)
with a monthly report, answers to the business questions and file exports.
"""
