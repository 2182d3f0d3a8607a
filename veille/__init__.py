"""The composition root: the ``veille`` command line (`veille.cli`), the settings tree
(`veille.settings`), the backend registry (`veille.backends`), the wiring of stages to backends
(`veille.app`) and how workers run (`veille.workers`), and the demo (`veille.demo`). It imports
every stage package; none of them imports it.
"""
