"""Client of the research service: the API as methods (:class:`Client`) and remote
environments whose slots trade in a live simulation (:class:`RemoteEnv`, Gymnasium;
:class:`RemoteParallelEnv`, PettingZoo). Talks to the service over HTTP only."""

from quantmarl.client.api import Client, ServiceError
from quantmarl.client.remote_env import RemoteEnv, RemoteParallelEnv

__all__ = ["Client", "RemoteEnv", "RemoteParallelEnv", "ServiceError"]
