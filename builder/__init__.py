"""How the Codecfake benchmark is *made*: corpus sources, split plan, codec resynthesis, release
tree, the loadable dataset folder, and publishing. Data flows one way through these modules."""
