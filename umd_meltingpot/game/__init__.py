"""The game: the τ-round loop of vote, principal and play (`loop.py`), the
`PrincipalWrapper` that runs the vote and writes φ into the substrate
(`principal_wrapper.py`), the PettingZoo view (`pettingzoo.py`) and human
play (`play.py`).

The game never imports the bots: whoever runs it hands `loop.prepare` a bot
factory (`umd_meltingpot.agents.FACTORY`), so followers sit beside the game,
not under it.
"""
