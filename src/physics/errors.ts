// One base class for every bad-input error of the physics module (unknown id, impossible
// configuration), so a CLI or an HTTP handler can turn all of them into a clean message.
export class PhysicsInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}
